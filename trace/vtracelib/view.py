"""view - vtrace view: a trace as one self-contained, offline HTML page.

Python computes every state; the page only shows it. The trace is replayed
once by the replay (replay.py) whose containers are swapped for journaled
ones (Watched): after each event the keys the replay touched are read back
from the replay and written as that event's delta (bitmap runs, mappings,
tables, PML4 roots), together with a summary (counters, pools, named VA
regions) when it changed. Every so many events a full checkpoint is kept.
The page's JavaScript (trace/view/view.js) rebuilds the state at event N
from the checkpoint before N and the deltas after it; it never reads an
event's keys to decide what changed, so a change of the trace format needs
a change of the replay only. Data layout: docs/trace-tools.md, "view".
"""
import json
import os
import re
import sys

from . import commands
from .replay import Replay, REASONS
from .tracefile import load
from .vmstate import PAGE, LARGE, HHDM_BASE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.path.join(ROOT, "trace", "view")
DOC = os.path.join(ROOT, "docs", "trace-format.md")
KERNEL_IMAGE = 0xFFFFFFFF80000000   # src/mm/layout.h KERNEL_VMA
USER_TOP = 0x0000800000000000       # the lower half: user space
CHECKPOINT_EVERY = 1000             # events between checkpoints, at most,
CHECKPOINT_GROWTH = 16              # ... or once the deltas since the last one
                                    # hold this many times its records


# --- journaled containers ---------------------------------------------------

class Journal:
    """What the replay changed during one event: container keys, page ranges."""

    def __init__(self):
        self.keys, self.pages = set(), []


class Watched(dict):
    """A dict that writes each key it changes into its journal. With
    nested=True its values are dicts, themselves Watched, named (name, key)."""
    __slots__ = ("journal", "name", "nested")

    def __init__(self, journal, name, items=(), nested=False):
        dict.__init__(self)
        self.journal, self.name, self.nested = journal, name, nested
        for k, v in dict(items).items():
            self[k] = v

    def __setitem__(self, k, v):
        if self.nested and not isinstance(v, Watched):
            v = Watched(self.journal, (self.name, k), v)
        self.journal.keys.add((self.name, k))
        dict.__setitem__(self, k, v)

    def __delitem__(self, k):
        self.journal.keys.add((self.name, k))
        dict.__delitem__(self, k)

    def pop(self, k, *default):
        if k in self:
            self.journal.keys.add((self.name, k))
        return dict.pop(self, k, *default)

    def setdefault(self, k, default=None):
        if k not in self:
            self[k] = default
        return dict.__getitem__(self, k)

    def clear(self):
        for k in list(self):
            del self[k]

    def update(self, *a, **kw):
        for k, v in dict(*a, **kw).items():
            self[k] = v

    def popitem(self):
        k = next(reversed(self))
        return k, self.pop(k)


class WatchedBytes(bytearray):
    """The bitmap: a bytearray that journals the page ranges written."""

    def __init__(self, journal, data):
        bytearray.__init__(self, data)
        self.journal = journal

    def __setitem__(self, i, v):
        if isinstance(i, slice):
            lo, hi, _ = i.indices(len(self))
        else:
            lo = i % len(self)
            hi = lo + 1
        self.journal.pages.append((lo, hi))
        bytearray.__setitem__(self, i, v)


def recursive_slot(r, pool_id):
    """The PML4 slot of a pool's recursive entry (ptp.recursive), or None."""
    entry = r.recursive.get(pool_id)
    return entry[0] if entry else None


# --- the state, read from the replay ------------------------------------------

class Recorder:
    """Replays a trace and records checkpoints, deltas and summaries."""

    def __init__(self, trace):
        self.trace = trace
        self.r = Replay(trace)
        self.j = Journal()
        self.flags = {}          # flag string -> index in self.flag_names
        self.flag_names = []
        self.watch()
        self.deltas, self.checkpoints, self.last_summary = [], [], None
        self.last_key = None
        self.ops_since = 0

    def watch(self):
        r, j = self.r, self.j
        r.maps = Watched(j, "maps", r.maps, nested=True)
        r.large = Watched(j, "large", r.large, nested=True)
        r.tables = Watched(j, "tables", r.tables)
        r.as_root = Watched(j, "roots", r.as_root)
        r.why = WatchedBytes(j, r.why)

    def flag(self, f):
        if f not in self.flags:
            self.flags[f] = len(self.flag_names)
            self.flag_names.append(f)
        return self.flags[f]

    def step(self, e):
        """Applies one event; returns its delta ops."""
        r = self.r
        why = r.why
        r.apply(e)
        ops = []
        if r.why is not why:  # pmm.init: a new bitmap, all of it changed
            r.why = WatchedBytes(self.j, r.why)
            self.j.pages = [(0, len(r.why))]
        for lo, hi in self.j.pages:
            ops += [["b", a, n, c] for a, n, c in runs(r.why, lo, hi)]
        done = set()
        for key in sorted(self.j.keys, key=repr):
            if key not in done:
                ops += self.read(key, done)
        self.j.keys.clear()
        self.j.pages = []
        ops = packed(ops)
        key = self.summary_key()
        if key != self.last_key:  # build the summary only when it may differ
            self.last_key = key
            s, last = self.summary(), self.last_summary
            changed = {k: v for k, v in s.items() if last.get(k) != v}
            if changed:  # only the fields that changed
                ops.append(["s", changed])
                self.last_summary = s
        return ops

    def summary_key(self):
        """What the summary is made of, cheaply: equal keys, equal summaries."""
        r = self.r
        return (r.free, r.usable, r.pages, r.peak_used, r.current_as, len(r.findings),
                tuple((p.id, len(p.allocated)) for p in r.pools.values()),
                tuple(r.mapped.values()), tuple(r.levels), len(r.objects), len(r.slabs),
                len(r.regions), tuple(r.windows), len(r.recursive), len(r.mapped))

    def read(self, key, done):
        """The ops that bring a copy of the replay's container up to date at
        key; done collects the keys they covered."""
        r = self.r
        name, k = key
        done.add(key)
        if name in ("maps", "large"):   # a whole address space appeared or went
            inner = getattr(r, name).get(k)
            ops = [["M0" if name == "maps" else "L0", k, int(inner is not None)]]
            for vk in inner or {}:
                ops += self.read(((name, k), vk), done)
            return ops
        if name == "tables":
            t = r.tables.get(k)
            return [["T", k, t.level, t.parent, t.index, (t.va & (2 ** 64 - 1)) >> 12,
                     t.pool, t.seq]] if t else [["T-", k]]
        if name == "roots":
            return [["R", k, r.as_root[k]]] if k in r.as_root else [["R-", k]]
        (outer, asid), vk = key
        m = getattr(r, outer).get(asid, {}).get(vk)
        tag = "M" if outer == "maps" else "L"
        if m is None:
            return [[tag + "-", asid, vk]]
        return [[tag, asid, vk, m[0], self.flag(m[1]), m[2]]]

    def summary(self):
        r = self.r
        pools = [[p.id, p.pa, p.va >> 12, p.pages, p.kind, len(p.allocated),
                  recursive_slot(r, p.id)] for p in sorted(r.pools.values(), key=lambda p: p.id)]
        return {"free": r.free, "usable": r.usable, "pages": r.pages,
                "peak": r.peak_used, "pools": pools, "cr3": r.current_as,
                "mapped": sorted([a, n] for a, n in r.mapped.items()),
                "levels": r.levels[1:5], "heap": [len(r.objects), len(r.slabs)],
                "kallocs": len(r.regions), "regions": va_regions(r),
                "findings": len(r.findings)}

    def checkpoint(self, index):
        """The whole state after event index (-1: before the first)."""
        r = self.r
        maps = [[a, vpn, m[0], self.flag(m[1]), m[2]]
                for a, d in r.maps.items() for vpn, m in d.items()]
        large = [[a, n2, m[0], self.flag(m[1]), m[2]]
                 for a, d in r.large.items() for n2, m in d.items()]
        tables = [[t.pa, t.level, t.parent, t.index, (t.va & (2 ** 64 - 1)) >> 12, t.pool,
                   t.seq] for t in r.tables.values()]
        return {"at": index, "pages": len(r.why), "bitmap": list(runs(r.why, 0, len(r.why))),
                "maps": maps, "large": large, "tables": tables,
                "roots": [[a, pa] for a, pa in r.as_root.items()],
                "spaces": [list(r.maps), list(r.large)],
                "summary": self.summary()}

    def run(self):
        self.checkpoints.append(self.checkpoint(-1))
        self.last_summary = self.checkpoints[0]["summary"]
        size = 1
        for i, e in enumerate(self.trace.events):
            ops = self.step(e)
            self.deltas.append(ops)
            self.ops_since += len(ops)
            since = i - self.checkpoints[-1]["at"]
            if since >= CHECKPOINT_EVERY or self.ops_since > CHECKPOINT_GROWTH * size:
                c = self.checkpoint(i)
                size = len(c["maps"]) + len(c["large"]) + len(c["tables"]) + len(c["bitmap"])
                self.checkpoints.append(c)
                self.ops_since = 0
        return self


def packed(ops):
    """Runs of 4K mapping ops as one op with a count: ["M", as, vpn, ppn,
    flags, seq, pages] maps pages consecutive in VA and PA, ["M-", as, vpn,
    pages] unmaps them."""
    out = []
    for op in ops:
        last = out[-1] if out else None
        if op[0] == "M" and last and last[0] == "M" and last[1] == op[1] and \
                last[2] + last[6] == op[2] and last[3] + last[6] == op[3] and last[4:6] == op[4:6]:
            last[6] += 1
        elif op[0] == "M-" and last and last[0] == "M-" and last[1] == op[1] and \
                last[2] + last[3] == op[2]:
            last[3] += 1
        else:
            out.append(op + [1] if op[0] in ("M", "M-") else op)
    return out


def runs(why, lo, hi):
    """(first page, pages, reason code) of the runs of equal bytes in why[lo:hi]."""
    data = bytes(why[lo:hi])
    for m in re.finditer(rb"(.)\1*", data, re.S):
        yield lo + m.start(), m.end() - m.start(), data[m.start()]


def va_regions(r):
    """Named VA ranges [name, first page, end page) the page labels VAs with."""
    out = [["user space", 0, USER_TOP >> 12]]
    if r.pages:
        out.append(["direct map", HHDM_BASE >> 12, (HHDM_BASE >> 12) + r.pages])
    for p in sorted(r.pools.values(), key=lambda p: p.id):
        out.append([f"pool {p.id} window", p.va >> 12, (p.va >> 12) + p.pages])
        slot = recursive_slot(r, p.id)
        if slot is not None:
            base = (0xFFFF000000000000 if slot >= 256 else 0) | slot << 39
            out.append([f"recursive window (pool {p.id})", base >> 12, (base >> 12) + (1 << 27)])
    for asid, w in sorted(r.windows.items()):
        out.append([f"kalloc/heap window (as {asid})", w.lo >> 12, w.hi >> 12])
    out.append(["kernel image", KERNEL_IMAGE >> 12, 1 << 52])
    return out


# --- the page -------------------------------------------------------------------

def event_docs():
    """{event name: [keys, meaning, anchor]} from the tables of trace-format.md."""
    docs, anchor = {}, ""
    try:
        text = open(DOC).read()
    except OSError:
        return docs
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchor = re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-")
        m = re.match(r"^\| `([a-z0-9_]+\.[a-z0-9_<>*]+)` \| (.*?) \| (.*) \|$", line)
        if m:
            docs[m.group(1)] = [m.group(2).replace("`", ""), m.group(3).replace("`", ""), anchor]
    return docs


def extents(events):
    """The pages each event touches, for the search by address: a flat list,
    per event va first page, va end page, pa first page, pa end page (0 0: none)."""
    out = []
    for e in events:
        va = commands.extent(e, "va") or (0, 0)
        pa = commands.extent(e, "pa") or (0, 0)
        out += [va[0] >> 12, -(-va[1] // PAGE), pa[0] >> 12, -(-pa[1] // PAGE)]
    return out


def spaces_ever(rec):
    """Every address space that had a PML4 at some event."""
    seen = {a for c in rec.checkpoints for a, _ in c["roots"]}
    seen |= {op[1] for ops in rec.deltas for op in ops if op[0] == "R"}
    return sorted(seen)


def model(path, trace):
    rec = Recorder(trace).run()
    cmd = re.search(r'cmdline="([^"]*)"', trace.header)
    return {"file": os.path.basename(path), "header": trace.header,
            "cmdline": cmd.group(1) if cmd else "", "status": trace.status,
            "lines": "\n".join(e.line for e in trace.events),
            # a JSON text, parsed by the page at its first search by address
            "extents": json.dumps(extents(trace.events), separators=(",", ":")),
            # one JSON text an event: the page parses only those it applies
            "deltas": [json.dumps(d, separators=(",", ":")) for d in rec.deltas],
            "checkpoints": rec.checkpoints, "spaces": spaces_ever(rec),
            "flags": rec.flag_names, "reasons": list(REASONS),
            "findings": [str(f) for f in trace.findings + rec.r.findings][:50],
            "large": LARGE}


def divergence(a_path, b_path, ta, tb):
    """Where trace B first departs from trace A, as vtrace diff finds it."""
    a, b = commands.scrubbed(ta, False), commands.scrubbed(tb, False)
    for i in range(min(len(a), len(b))):
        if a[i][0] != b[i][0]:
            break
    else:
        if len(a) == len(b):
            return None
        i = min(len(a), len(b))
    why = commands.explain(a, b, i) if i < len(a) and i < len(b) else \
        ("B continues past the end of A" if i >= len(a) else "B stops early")
    return {"line": i + 1, "a": event_index(ta, i), "b": event_index(tb, i), "why": why}


def event_index(t, i):
    """The event at scrubbed line i (header and # lines first), clamped."""
    k = i - 1 - len(t.meta)
    return max(0, min(k, len(t.events) - 1))


def page(data, doc_link):
    parts = {}
    for name in ("view.html", "view.css", "view.js"):
        with open(os.path.join(ASSETS, name)) as f:
            parts[name] = f.read()
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    html = parts["view.html"]
    html = html.replace("/*CSS*/", parts["view.css"])
    html = html.replace("/*JS*/", parts["view.js"].replace("__DOC__", doc_link))
    return html.replace("__DATA__", blob)


def view(args):
    t = load(args.file, sys.stdin)
    data = {"traces": [model(args.file, t)], "docs": event_docs(), "compare": None}
    if args.compare:
        tb = load(args.compare, sys.stdin)
        data["traces"].append(model(args.compare, tb))
        data["compare"] = divergence(args.file, args.compare, t, tb) or {"same": True}
    out_dir = os.path.dirname(os.path.abspath(args.output))
    doc_link = os.path.relpath(DOC, out_dir)
    try:
        with open(args.output, "w") as f:
            f.write(page(data, doc_link))
    except OSError as e:
        sys.stderr.write(f"vtrace: cannot write {args.output}: {e.strerror}\n")
        return 2
    m = data["traces"][0]
    print(f"wrote {args.output}: {len(t.events)} events, {len(m['checkpoints'])} "
          f"checkpoints" + (f"; compared with {args.compare}" if args.compare else ""))
    return 0
