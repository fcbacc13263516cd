"""crosscheck_compare - tests/crosscheck's comparison of what the hardware
holds at a stop (the walk of the live tables, CR3, the bitmap) with
`vtrace state --json` at the same event (docs/crosscheck.md). Pure
functions of the two: one readable line per difference."""
import re

from vtracelib import vmstate

KERNEL_HALF = 0xFFFF800000000000
ADDR_MASK = 0x000FFFFFFFFFF000
ENTRIES = 512
IGNORED = frozenset(("A", "D"))  # the CPU sets these; the trace need not follow


def flag_text(flags):
    order = vmstate.BITS
    return "|".join(sorted(flags, key=lambda f: order.get(f, int(f[3:]) if f[3:].isdigit()
                                                       else 99))) or "-"


def rights_text(w, u, nx):
    return ("W" if w else "R") + ("U" if u else "S") + ("-" if nx else "X")


def expected_leaves(s):
    """{va: (pa, size, flags)} the replay has for space s (the kernel half
    only if s keeps its own)."""
    leaves = {}
    for m in s["mappings"]:
        va, pa, page = int(m["va"], 16), int(m["pa"], 16), m["page"]
        if va >= KERNEL_HALF and s["kernel_half_of"] is not None:
            continue
        flags = vmstate.flag_set(m["flags"]) - IGNORED
        for off in range(0, m["bytes"], page):
            leaves[va + off] = (pa + off, page, flags)
    return leaves


def expected_links(st, root, shared_root, shared_slots=()):
    """{(table, index): child} reachable from root; with shared_root, the
    kernel-half PML4 slots shared so far (shared_slots, from pt.share) are
    those of shared_root (their subtrees are compared under that space)."""
    children = {}
    for t in st["tables"]:
        if t["level"] < 4:
            children.setdefault(int(t["parent"], 16), []).append((t["index"], int(t["pa"], 16)))
    links, top, todo = {}, {}, [root]
    while todo:
        pa = todo.pop()
        for index, child in children.get(pa, []):
            if pa == root and shared_root is not None and index >= ENTRIES // 2:
                continue
            links[(pa, index)] = child
            todo.append(child)
    if shared_root is not None:
        top = {i: c for i, c in children.get(shared_root, [])
               if i >= ENTRIES // 2 and i in shared_slots}
    return links, top


class Report:
    def __init__(self, n):
        self.n, self.lines = n, []

    def add(self, where, hw, trace):
        self.lines.append(f"event {self.n}: {where}: hardware {hw}; trace {trace}")


def describe(leaf):
    if leaf is None:
        return "nothing"
    pa, size, flags = leaf[:3]
    return f"pa={pa:#x} {'2M' if size == 1 << 21 else '1G' if size == 1 << 30 else '4K'} " \
        f"{flag_text(flags)}"


def compare_leaves(rep, asid, hw, want):
    """Differences page by page; a run of consecutive pages that differ the
    same way is one line, with the pa of its first page followed by '..'."""
    run = None  # [first va, last va, count, hw, trace, kind]

    def flush():
        if run:
            many = run[2] > 1
            where = f"as {asid} va={run[0]:#x}" + (f"-{run[1]:#x} ({run[2]} pages)"
                                                  if many else "")
            first = (lambda t: re.sub(r"pa=(0x[0-9a-f]+)", r"pa=\1..", t, 1)) if many \
                else (lambda t: t)
            rep.add(where, first(run[3]), first(run[4]))

    for va in sorted(set(hw) | set(want)):
        h, w = hw.get(va), want.get(va)
        if h and w and h[:3] == w:
            rights = h[3]
            told = ("W" in w[2], "U" in w[2], "NX" in w[2])
            if rights == told:
                continue
            hs, ts = f"enforces {rights_text(*rights)}", f"leaf says {rights_text(*told)}"
        else:
            hs, ts = describe(h), describe(w)
        step = (h or w)[1]
        key = (re.sub(r"pa=0x[0-9a-f]+ ", "", hs), re.sub(r"pa=0x[0-9a-f]+ ", "", ts))
        if run and run[5] == key and run[1] + step == va:
            run[1], run[2] = va, run[2] + 1
            continue
        flush()
        run = [va, va, 1, hs, ts, key]
    flush()


def compare(n, st, hw, bitmap):
    rep = Report(n)
    roots = {s["as"]: int(s["pml4"], 16) for s in st["spaces"] if s["pml4"] is not None}
    want_cr3 = int(st["cr3"], 16) if st["cr3"] else None
    if want_cr3 is not None and hw["cr3"] != want_cr3:
        rep.add("CR3", f"{hw['cr3']:#x}", f"{want_cr3:#x} (as {st['current_as']})")
    if want_cr3 is None and hw["cr3"] in roots.values():
        rep.add("CR3", f"{hw['cr3']:#x}", "no tlb.cr3 yet (the CPU is on other tables)")
    recursive = {int(x["pml4"], 16): (x["slot"], int(x["pte"], 16)) for x in st["recursive"]
                 if x["pml4"]}
    for s in st["spaces"]:
        if s["pml4"] is None:
            continue
        asid, root = s["as"], roots[s["as"]]
        leaves, links, rec, top = hw["spaces"][asid]
        compare_leaves(rep, asid, leaves, expected_leaves(s))
        shared = roots.get(s["kernel_half_of"]) if s["kernel_half_of"] is not None else None
        want_links, want_top = expected_links(st, root, shared, set(s.get("kernel_half_slots", ())))
        for key in sorted(set(links) | set(want_links)):
            h, w = links.get(key), want_links.get(key)
            if h != w:
                rep.add(f"as {asid} table {key[0]:#x} entry {key[1]}",
                        f"points to {h:#x}" if h is not None else "has nothing",
                        f"table {w:#x}" if w is not None else "no table there")
        compare_slots(rep, s, root, top, want_top)
        hw_rec = {(slot, e & ~0x60) for slot, e in rec}
        want_rec = {recursive[root]} if root in recursive else set()
        want_rec = {(slot, e & ~0x60) for slot, e in want_rec}
        if hw_rec != want_rec:
            rep.add(f"as {asid} PML4 {root:#x} recursive entry",
                    ", ".join(f"slot {s_}={e:#x}" for s_, e in sorted(hw_rec)) or "none",
                    ", ".join(f"slot {s_}={e:#x}" for s_, e in sorted(want_rec)) or "none")
    if hw["bitmap"] is not None and st["bitmap"]:
        compare_bitmap(rep, hw["bitmap"], st["bitmap"])
    return rep.lines


def compare_slots(rep, s, root, top, want_top):
    """The kernel-half PML4 entries of a space that shares another's: runs
    of consecutive slots that differ the same way on one line."""
    run = None  # [first slot, last slot, hw, trace of the first]
    half = s["kernel_half_of"]

    def flush():
        if run:
            one = run[0] == run[1]
            slots = f"slot {run[0]}" if one else f"slots {run[0]}-{run[1]}"
            first = (lambda t: t) if one else (lambda t: re.sub(r"(0x[0-9a-f]+)", r"\1..", t, 1))
            rep.add(f"as {s['as']} PML4 {root:#x} kernel-half {slots}", first(run[2]),
                    first(run[3]))

    for slot in sorted(set(top) | set(want_top)):
        h = top[slot] & ADDR_MASK if slot in top else None
        w = want_top.get(slot)
        if h == w:
            continue
        hs = f"points to {h:#x}" if h is not None else "has nothing"
        ts = f"shares {w:#x} of as {half}" if w is not None else f"as {half} has nothing there"
        if run and run[1] + 1 == slot and (h is None) == run[4][0] and (w is None) == run[4][1]:
            run[1] = slot
            continue
        flush()
        run = [slot, slot, hs, ts, (h is None, w is None)]
    flush()


def compare_bitmap(rep, data, want):
    used = bytearray(want["pages"])
    for first, count in want["used"]:
        used[first:first + count] = b"\1" * count
    run = None

    def flush():
        if run:
            rep.add(f"bitmap pages {run[0] * 4096:#x}-{(run[1] + 1) * 4096 - 1:#x} "
                    f"({run[1] - run[0] + 1} pages)", "used" if run[2] else "free",
                    "used" if not run[2] else "free")

    for page in range(want["pages"]):
        bit = data[page // 8] >> (page % 8) & 1
        if bit == used[page]:
            continue
        if run and run[1] + 1 == page and run[2] == bit:
            run[1] = page
            continue
        flush()
        run = [page, page, bit]
    flush()
