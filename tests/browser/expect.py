#!/usr/bin/env python3
"""expect - what the viewer must show, computed without the viewer.

  tests/browser/expect.py TRACE [--diff A-B] N...

Prints one JSON object: for each event N, the lines of `trace/vtrace state
--at N` (the mappings) and the bitmap as runs [first page, pages, reason]
from a fresh Replay run to N (not view.py's journaled one); for each
--diff A-B the pages mapped, unmapped, allocated and freed from after A to
after B. The browser test compares the page's panels with these.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "trace"))
from vtracelib.replay import Replay, REASONS  # noqa: E402
from vtracelib.tracefile import load  # noqa: E402
from vtracelib.vmstate import LARGE  # noqa: E402


def replay_to(t, n):
    r = Replay(t)
    r.run(t.events, at=n)
    return r


def bitmap_runs(r):
    data = bytes(r.why)
    return [[m.start(), m.end() - m.start(), REASONS[data[m.start()] - 1] if data[m.start()] else "free"]
            for m in re.finditer(rb"(.)\1*", data, re.S)]


def pages(r):
    """{(as, 4K page): (physical page, flags)}, a 2M page as its 512 4K pages."""
    out = {}
    for asid, d in r.maps.items():
        for vpn, (ppn, f, _) in d.items():
            out[(asid, vpn)] = (ppn, f)
    for asid, d in r.large.items():
        for n2, (p2, f, _) in d.items():
            for k in range(LARGE):
                out[(asid, n2 * LARGE + k)] = (p2 * LARGE + k, f)
    return out


def diff(t, a, b):
    ra, rb = replay_to(t, a), replay_to(t, b)
    pa, pb = pages(ra), pages(rb)
    wa, wb = bytes(ra.why), bytes(rb.why)
    n = max(len(wa), len(wb))
    wa, wb = wa.ljust(n, b"\0"), wb.ljust(n, b"\0")
    return {"mapped": sum(1 for k in pb if k not in pa),
            "unmapped": sum(1 for k in pa if k not in pb),
            "changed": sum(1 for k in pb if k in pa and pa[k] != pb[k]),
            "allocated": sum(1 for x, y in zip(wa, wb) if not x and y),
            "freed": sum(1 for x, y in zip(wa, wb) if x and not y)}


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    t = load(path, sys.stdin)
    out = {"states": {}, "diffs": {}}
    while args:
        a = args.pop(0)
        if a == "--diff":
            lo, hi = map(int, args.pop(0).split("-"))
            out["diffs"][f"{lo}-{hi}"] = diff(t, lo, hi)
            continue
        n = int(a)
        state = subprocess.run([sys.executable, os.path.join(ROOT, "trace", "vtrace"), "state",
                                path, "--at", str(n)], stdout=subprocess.PIPE, check=True)
        r = replay_to(t, n)
        # The mapping lines (and each space's header); the panel shows the
        # recursive window and the shared kernel half in the tree instead.
        lines = [l for l in state.stdout.decode().splitlines()[1:]
                 if l.startswith("as ") or " -> 0x" in l]
        out["states"][n] = {"mappings": lines,
                            "bitmap": bitmap_runs(r), "free": r.free}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
