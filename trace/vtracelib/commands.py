"""commands - vtrace's text subcommands: check, diff, show, stats, state."""
import json
import re
import sys

from .replay import Replay, REASONS
from .tracefile import load
from .vmstate import PAGE, LARGE


def check(args):
    """Frame findings, then the replay's; 0 if none, 1 otherwise."""
    replays = []

    def start(t):  # at the first event: #cats is known, stream into a replay
        replays.append(Replay(t))
        return replays[0]

    t = load(args.file, sys.stdin, start)
    r = replays[0] if replays else Replay(t)
    r.finish()
    findings = t.findings + r.findings
    for f in findings[:args.max_findings]:
        print(f)
    if len(findings) > args.max_findings:
        print(f"... and {len(findings) - args.max_findings} more finding(s)")
    if findings:
        print(f"FAIL: {len(findings)} finding(s) in {t.count} events")
        return 1
    cats = t.cats or set()
    off = sorted({"pmm", "vm", "ptp", "pt", "tlb"} - cats) + \
        [c for c in ("kalloc", "heap", "proc", "pf", "cow") if c not in cats]
    print(f"ok: {t.count} events, status={t.status}, frame and replay clean"
          + (f" (categories off, their rules skipped: {','.join(off)})"
             if t.cats is not None and off else ""))
    return 0


# --- diff ------------------------------------------------------------------

PA_KEYS = ("pa", "parent", "bitmap")
PTE_ADDR = 0x000FFFFFFFFFF000
HEX = re.compile(r"^0x[0-9a-f]+$")


class Scrubber:
    """Renames physical addresses P1, P2... in order of first appearance."""

    def __init__(self, scrub_pa):
        self.scrub_pa, self.names = scrub_pa, {}

    def name(self, pa):
        if pa not in self.names:
            self.names[pa] = f"P{len(self.names) + 1}"
        return self.names[pa]

    def line(self, e):
        if not self.scrub_pa:
            return e.text()
        parts = [e.full]
        for k, v in e.keys.items():
            raw = int(v, 16) if v[:2] == "0x" and HEX.match(v) else None
            if k in PA_KEYS and raw:
                v = self.name(raw)
            elif k == "pte" and raw is not None:
                v = f"{self.name(raw & PTE_ADDR)}+{raw & ~PTE_ADDR:#x}"
            parts.append(f"{k}={v}")
        return " ".join(parts)


def scrubbed(t, scrub_pa):
    """[(text, original line)] of a trace with sequence numbers dropped."""
    s = Scrubber(scrub_pa)
    out = [(t.header, t.header)] + [("#" + m, "#" + m) for m in t.meta]
    out += [(s.line(e), e.line) for e in t.events]
    if t.end:
        count = "" if scrub_pa else f"count={t.end['count']} "
        out.append((f"@end {count}status={t.end['status']}", "@end ..."))
    else:
        out.append(("(no end record)", "(no end record)"))
    return out


def explain(a, b, i):
    """One line saying how expected[i] and actual[i] differ."""
    rest_b = [x for x, _ in b[i:i + 200]]
    rest_a = [x for x, _ in a[i:i + 200]]
    if a[i][0] in rest_b:
        k = rest_b.index(a[i][0])
        return f"ACTUAL has {k} extra line(s) here before the expected line"
    if b[i][0] in rest_a:
        k = rest_a.index(b[i][0])
        return f"ACTUAL lacks {k} expected line(s) here"
    ea, eb = a[i][0].split(" "), b[i][0].split(" ")
    if ea[0] != eb[0]:
        return f"different events: expected {ea[0]}, got {eb[0]}"
    ka = dict(x.split("=", 1) for x in ea[1:] if "=" in x)
    kb = dict(x.split("=", 1) for x in eb[1:] if "=" in x)
    diffs = [f"{k}: expected {ka.get(k)}, got {kb.get(k)}" for k in ka.keys() | kb.keys()
             if ka.get(k) != kb.get(k)]
    return f"same event {ea[0]}, " + "; ".join(sorted(diffs))


def diff(args):
    a = scrubbed(load(args.expected, sys.stdin), args.scrub_pa)
    b = scrubbed(load(args.actual, sys.stdin), args.scrub_pa)
    for i in range(min(len(a), len(b))):
        if a[i][0] != b[i][0]:
            break
    else:
        if len(a) == len(b):
            print(f"same: {len(a)} lines after scrubbing")
            return 0
        i = min(len(a), len(b))
    lo = max(0, i - args.context)
    print(f"first divergence at line {i + 1}:")
    for j in range(lo, i):
        print(f"    {a[j][1]}")
    for j in range(i, min(i + args.context + 1, len(a))):
        print(f"  - {a[j][1]}")
    for j in range(i, min(i + args.context + 1, len(b))):
        print(f"  + {b[j][1]}")
    if i >= len(a) or i >= len(b):
        print("explanation: " + ("ACTUAL continues past the end of EXPECTED"
                                 if i >= len(a) else "ACTUAL stops early"))
    else:
        print("explanation: " + explain(a, b, i))
    return 1


# --- show --------------------------------------------------------------------

def extent(e, key):
    """[lo, hi) of the addresses an event touches through key ('va' or
    'pa'; mmap events give a physical base and len), or None."""
    try:
        if key == "pa" and "base" in e.keys and "len" in e.keys:
            lo = int(e.keys["base"], 0)
            return lo, lo + int(e.keys["len"], 0)
        if key not in e.keys:
            return None
        lo = int(e.keys[key], 0)
        unit = LARGE * PAGE if e.keys.get("size") == "2M" else PAGE
        return lo, lo + int(e.keys.get("n", "1"), 0) * unit
    except ValueError:
        return None


def matches(e, args):
    if args.cat and e.cat not in args.cat.split(","):
        return False
    if args.event and not {e.full, e.name} & set(args.event.split(",")):
        return False
    if args.seq and not args.seq[0] <= e.seq <= args.seq[1]:
        return False
    for want, key in ((args.va, "va"), (args.pa, "pa")):
        if want:
            ext = extent(e, key)
            if not ext or ext[1] <= want[0] or ext[0] > want[1]:
                return False
    return True


def show(args):
    t = load(args.file, sys.stdin)
    shown = 0
    for e in t.events:
        if matches(e, args):
            print(e.line)
            shown += 1
    print(f"# {shown} of {len(t.events)} events")
    return 0


# --- stats ---------------------------------------------------------------------

def stats(args):
    t = load(args.file, sys.stdin)
    counts = {}
    pool_peak = {}

    def observe(r, e):
        for pid, p in r.pools.items():
            pool_peak[pid] = max(pool_peak.get(pid, 0), len(p.allocated))

    r = Replay(t)
    r.run(t.events, observe=observe)
    for e in t.events:
        counts[e.full] = counts.get(e.full, 0) + 1
    print(f"trace: {len(t.events)} events, status={t.status}, "
          f"{len(t.findings) + len(r.findings)} finding(s) (vtrace check)")
    print("events:")
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:8d}  {name}")
    if r.pages:
        used = r.usable - r.free
        print(f"memory: {r.pages} pages covered, {r.usable} usable, used now {used} "
              f"({used * 4} KiB), peak {r.peak_used}, free {r.free}")
        by_why = {}
        for code in set(r.why):
            if code:
                by_why[REASONS[code - 1]] = r.why.count(code)
        print("  used by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(by_why.items())))
    for pid, p in sorted(r.pools.items()):
        print(f"pool {pid}: {p.pages} pages at pa={p.pa:#x}, handed out now {len(p.allocated)}, "
              f"peak {pool_peak.get(pid, 0)}, kind={p.kind}")
    print("tables per level: " + ", ".join(
        f"L{lv}={r.levels[lv]}" for lv in (4, 3, 2, 1)))
    for asid, n in sorted(r.mapped.items()):
        print(f"as {asid}: {n} 4K pages mapped ({n * 4} KiB)")
    if r.proc_list:
        alive = sum(1 for p in r.proc_list if p.state not in ("ended", "reaped"))
        print(f"processes: {len(r.proc_list)} created, {alive} not ended")
        for p in r.proc_list:
            calls = " ".join(f"{k}={v}" for k, v in sorted(p.calls.items())) or "none"
            print(f"  pid {p.pid} {p.name}: as {p.asid}, parent {p.parent}, {p.state}"
                  + (f" ({p.ending()})" if p.ending() else "") + f", {len(p.regions)} "
                  f"region(s); {fault_text(p)}; system calls: {calls}")
    for p in r.proc_list:
        if p.pid in r.evicted or p.pid in r.swapins:
            d = r.evicted.get(p.pid, {})
            print(f"swap: pid {p.pid} {p.name}: {p.nfaults} fault(s), "
                  f"{sum(d.values())} eviction(s) (write={d.get('write', 0)} "
                  f"drop={d.get('drop', 0)}), {r.swapins.get(p.pid, 0)} swap-in(s)")
    if r.held or r.scans:
        print(f"swap slots: {len(r.held)} held now; {r.scans} policy look(s)")
    if r.cow_peak or any(r.cow_done.values()):
        d = r.cow_done
        print(f"copy-on-write: {d['share']} page(s) shared, {d['copy']} copied, "
              f"{d['restore']} restored; frames counted now {len(r.cow)}, peak {r.cow_peak}")
    return 0


HOW_ORDER = ("zero", "stack", "cow_copy", "cow_restore", "swap_in", "fixup", "kill")


def fault_text(p):
    """'3 fault(s): zero=1 stack=1 cow_restore=1' by resolution, kills last."""
    hows = sorted(p.faults.items(), key=lambda kv: (HOW_ORDER + (kv[0],)).index(kv[0]))
    return f"{p.nfaults} fault(s)" + (": " + " ".join(f"{k}={v}" for k, v in hows)
                                      if hows else "")


def proc_dicts(r):
    """Every process the replay saw, as plain data (state --json)."""
    hx = lambda v: f"{v:#x}"
    return [{"pid": p.pid, "name": p.name, "parent": p.parent, "as": p.asid,
             "state": p.state, "code": p.code,
             "kill": None if p.kill is None else
             {"why": p.kill[0], "va": hx(p.kill[1]), "rip": hx(p.kill[2])},
             "regions": [{"kind": k, "va": hx(va), "pages": n, "prot": prot}
                         for va, (k, n, prot) in sorted(p.regions.items())],
             "faults": p.nfaults, "resolved": dict(p.faults), "calls": dict(p.calls),
             "written": p.writes}
            for p in r.proc_list]


def cow_dicts(r):
    """The counted frames (cow.ref): pa, count and the user pages mapping them."""
    return [{"pa": f"{ppn * PAGE:#x}", "count": c,
             "mapped": [{"as": a, "va": f"{v * PAGE:#x}"} for a, v in sorted(r.frame_maps.get(ppn, {}))]}
            for ppn, c in sorted(r.cow.items())]


def print_procs(r, asid):
    """The processes (those on asid, if given) and the counted frames."""
    procs = [p for p in r.proc_list if asid is None or p.asid == asid]
    if procs:
        print("# processes")
    for p in procs:
        print(f"pid {p.pid} {p.name} (as {p.asid}, parent {p.parent}): {p.state}"
              + (f", {p.ending()}" if p.ending() else "") + f"; {fault_text(p)}")
        for va, (kind, n, prot) in sorted(p.regions.items()):
            span = f"{va:#018x}-{va + n * PAGE - 1:#018x}" if n else f"{va:#018x} (empty)"
            print(f"  {kind:<6} {span:<39} {n:>6d} page(s)  {prot}")
    if r.cow and asid is None:
        print(f"# frames shared by fork (cow.ref): {len(r.cow)}")
        for f in cow_dicts(r):
            where = ", ".join(f"as {m['as']} va={m['va']}" for m in f["mapped"]) or "unmapped"
            print(f"  {int(f['pa'], 16):#014x} count={f['count']}: {where}")


# --- state -----------------------------------------------------------------------

def runs_of(r, asid):
    """Coalesced (va, pa, bytes, flags, page size) runs of an address space:
    a run is cut where the flags or the page size change."""
    items = [(vpn * PAGE, ppn * PAGE, PAGE, f) for vpn, (ppn, f, _) in r.maps.get(asid, {}).items()]
    items += [(n2 * LARGE * PAGE, p2 * LARGE * PAGE, LARGE * PAGE, f)
              for n2, (p2, f, _) in r.large.get(asid, {}).items()]
    items.sort()
    runs = []
    for va, pa, size, f in items:
        last = runs[-1] if runs else None
        if last and last[0] + last[2] == va and last[1] + last[2] == pa and last[3] == f \
                and last[4] == size:
            last[2] += size
        else:
            runs.append([va, pa, size, f, size])
    return runs


def used_runs(r):
    """[first page, count] runs of the pages the replayed bitmap has in use."""
    runs, page, why = [], 0, r.why
    while page < r.pages:
        end = why.find(b"\0", page)  # the first free page from here
        end = r.pages if end < 0 else end
        if end > page:
            runs.append([page, end - page])
        page = end
        while page < r.pages and not why[page]:
            page += 1
    return runs


def state_dict(r):
    """The replayed state as plain data (`vtrace state --json`; tests/crosscheck
    compares it with the live page tables): every address space with its PML4
    and mappings, the table pages, the recursive PML4 entries, the space whose
    root CR3 holds, and the bitmap. The replay keeps the kernel half
    (va >= 0xffff800000000000) in the tables of address space 0, shared by
    every other space once its pt.share events came: kernel_half_of names
    that space and kernel_half_slots the PML4 entries shared so far."""
    hx = lambda v: f"{v:#x}"
    spaces = []
    for asid in sorted(set(r.as_root) | set(r.maps) | set(r.large)):
        root = r.as_root.get(asid)
        spaces.append({
            "as": asid, "pml4": None if root is None else hx(root),
            "kernel_half_of": 0 if asid != 0 and root in r.shared and 0 in r.as_root else None,
            "kernel_half_slots": sorted(r.shared[root][1]) if root in r.shared else [],
            "mappings": [{"va": hx(va), "pa": hx(pa), "bytes": n, "flags": f, "page": size}
                         for va, pa, n, f, size in runs_of(r, asid)]})
    tables = [{"pa": hx(t.pa), "level": t.level, "parent": hx(t.parent), "index": t.index,
               "pool": t.pool} for t in sorted(r.tables.values(), key=lambda t: t.pa)]
    recursive = [{"pool": pid, "pml4": hx(r.pools[pid].pa) if pid in r.pools else None,
                  "slot": slot, "pte": hx(pte)}
                 for pid, (slot, pte, _) in sorted(r.recursive.items())]
    cur = r.current_as
    return {"after": r.seq, "current_as": cur,
            "cr3": hx(r.as_root[cur]) if cur is not None and cur in r.as_root else None,
            "spaces": spaces, "tables": tables, "recursive": recursive,
            "bitmap": {"pages": r.pages, "used": used_runs(r)} if r.pages else None,
            "processes": proc_dicts(r), "cow": cow_dicts(r)}


def state(args):
    t = load(args.file, sys.stdin)
    r = Replay(t)
    r.run(t.events, at=args.at)
    if args.json:
        json.dump(state_dict(r), sys.stdout, indent=1)
        print()
        return 0
    where = f"after event {args.at}" if args.at else "at the end"
    spaces = sorted(set(r.maps) | set(r.large) | set(r.recursive))
    if args.asid is not None:
        spaces = [args.asid]
    print(f"# mappings {where} ({len(t.events)} events)")
    for asid in spaces:
        root = r.as_root.get(asid)
        print(f"as {asid}" + (f" (PML4 {root:#x})" if root is not None else "") + ":")
        if asid in r.recursive:
            slot, pte, _ = r.recursive[asid]
            base = (0xFFFF << 48 if slot >= 256 else 0) | slot << 39
            print(f"  {base:#018x}-{base + (1 << 39) - 1:#018x} recursive window: PML4[{slot}] "
                  f"-> the PML4 itself (pte {pte:#x}): every table of the space, as pages")
        if root is not None and root in r.shared:
            src, slots = r.shared[root]
            print(f"  kernel half: {len(slots)} PML4 entries shared with the PML4 at "
                  f"{src:#x} (their mappings are listed under as 0)")
        for va, pa, size, f, _ in runs_of(r, asid):
            print(f"  {va:#018x}-{va + size - 1:#018x} -> {pa:#014x}-{pa + size - 1:#014x}"
                  f"  {size // 1024:>8d}K  {f}")
    print_procs(r, args.asid)
    return 0

