"""render - vtrace draw (graphviz) and vtrace perfetto (trace-event JSON).

draw: one graphviz graph with two parts. "physical memory" is the bitmap
as a column of runs of pages with the same use (reason, "pool N", "user
frames"), each bar to the square root of its size, long free runs folded
into one row. "page tables" is the tree of live table pages, PML4 at the
top, each labelled with level, pool, the VA it starts at, its present
entries and the flags of its leaves. `dot` writes SVG or PNG; in SVG every
bar and table has a tooltip (a <title>, which browsers show).

perfetto: Chrome/Perfetto trace-event JSON, the sequence number as time:
a track per category, boot stages and scenarios as spans on their own
tracks, counters of free pages, pool pages handed out and the heap.
"""
import html
import json
import os
import re
import subprocess
import sys

from .replay import Replay, REASONS
from .tracefile import load

COLOURS = {"free": "#c8e6c9", "firmware": "#9e9e9e", "low": "#bdbdbd",
           "kernel": "#e53935", "bootinfo": "#8e24aa", "module": "#6d4c41",
           "bitmap": "#fb8c00", "pool": "#1e88e5", "alloc": "#43a047",
           "kalloc": "#00897b", "heap": "#c0ca33", "test": "#f06292",
           "user frame": "#7cb342"}
POOL_COLOURS = ["#1e88e5", "#5e35b1", "#00acc1", "#3949ab", "#039be5", "#8e24aa"]
NAMES = {"free": "free", "firmware": "firmware / reserved", "low": "low memory",
         "kernel": "kernel image", "bootinfo": "boot information", "bitmap": "bitmap",
         "alloc": "allocated pages", "kalloc": "kalloc pages", "heap": "heap pages",
         "test": "test pages", "user frame": "user frames"}
FOLD = 64          # free runs longer than this are one folded row
MAX_TABLES = 120   # table nodes drawn at most
LEVEL = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}


def colour(label):
    if label.startswith("pool "):
        return POOL_COLOURS[int(label[5:]) % len(POOL_COLOURS)]
    return COLOURS.get(label, "#455a64")


def page_label(r, user):
    """label(page): its reason, 'pool N' by the pools, 'user frame' if mapped
    in an address space other than 0."""
    pools = [(p.pa // 4096, p.pa // 4096 + p.pages, p.id) for p in r.pools.values()]

    def label(p):
        w = r.why[p]
        name = REASONS[w - 1] if w else "free"
        if name == "pool":
            for lo, hi, pid in pools:
                if lo <= p < hi:
                    return f"pool {pid}"
        if w and p in user:
            return "user frame"
        return name
    return label


def segments(r):
    """[(first page, pages, label)] runs of equal labels over the bitmap."""
    user = {ppn for a, d in r.maps.items() if a for ppn, _, _ in d.values()}
    label = page_label(r, user)
    out, first, cur = [], 0, label(0)
    for p in range(1, r.pages + 1):
        lab = label(p) if p < r.pages else None
        if lab != cur:
            out.append((first, p - first, cur))
            first, cur = p, lab
    return out


def size_text(pages):
    return f"{pages / 256:.1f} MiB" if pages >= 256 else f"{pages * 4} KiB"


def memory_node(r):
    """Physical memory as a column of runs: used runs drawn to scale (square
    root of their size), long free runs folded; each row says its range."""
    rows = []
    for first, n, label in segments(r):
        lo, hi = first * 4096, (first + n) * 4096 - 1
        folded = label == "free" and n > FOLD
        width = 40 if folded else max(12, int(8 * n ** 0.5))
        text = (f"{size_text(n)} free (folded)" if folded else
                f"{NAMES.get(label, label)}: {n} page(s), {size_text(n)}")
        tip = f"{lo:#x}-{hi:#x} {NAMES.get(label, label)}, {n} pages"
        width = min(width, 300)
        bar = (f'<table border="0" cellspacing="0" cellpadding="0"><tr>'
               f'<td bgcolor="{colour(label)}" width="{width}" height="14" fixedsize="true" '
               f'href="#" tooltip="{html.escape(tip)}"></td>'
               f'<td width="{301 - width}" height="14" fixedsize="true"></td></tr></table>')
        rows.append(f'<tr><td align="right"><font point-size="8">{lo:#x}</font></td>'
                    f'<td>{bar}</td>'
                    f'<td align="left"><font point-size="9">{html.escape(text)}</font></td></tr>')
    title = (f"physical memory: {r.pages} pages ({size_text(r.pages)}); free {r.free}, "
             f"used {r.usable - r.free} of {r.usable} usable")
    return (f'mem [shape=plaintext label=<<table border="0" cellspacing="1" cellpadding="1">'
            f'<tr><td colspan="3">{html.escape(title)}</td></tr>{"".join(rows)}</table>>];')


def leaf_flags(r, t):
    """'n x FLAGS' for the leaf entries of a PT or PD, most common first."""
    asid = 0 if t.va >= 0xFFFF800000000000 or t.va < 0 else t.pool
    counts = {}
    if t.level == 1:
        d, base, step = r.maps.get(asid, {}), t.va // 4096, 1
    elif t.level == 2:
        d, base, step = r.large.get(asid, {}), (t.va // 4096) >> 9, 1
    else:
        return ""
    for i in range(0, 512, step):
        m = d.get(base + i)
        if m:
            counts[m[1]] = counts.get(m[1], 0) + 1
    return "\\n".join(f"{n} x {'4K' if t.level == 1 else '2M'} {f}"
                       for f, n in sorted(counts.items(), key=lambda kv: -kv[1])[:3])


def table_nodes(r):
    tables = sorted(r.tables.values(), key=lambda t: (t.root, -t.level, t.va))
    empty = [t for t in tables if not t.used and t.level < 4]
    if len(empty) > 8:  # e.g. the kernel half's PDPTs made in advance
        tables = [t for t in tables if t.used or t.level == 4]
    drawn = tables[:MAX_TABLES]
    shown = {t.pa for t in drawn}
    out = []
    if len(empty) > 8:
        out.append(f'empty [shape=note label="{len(empty)} empty tables not drawn"];')
    for t in drawn:
        va = t.va & (2 ** 64 - 1)
        flags = leaf_flags(r, t)
        label = (f"{LEVEL[t.level]} {t.pa:#x} (pool {t.pool})\\nva {va:#x}\\n{t.used} present"
                 + (f"\\n{flags}" if flags else ""))
        tip = f"{LEVEL[t.level]} at pa {t.pa:#x}, entry {t.index} of {t.parent:#x}, made by event {t.seq}"
        out.append(f't{t.pa:x} [shape=box style=filled fillcolor="#e3f2fd" fontsize=9 '
                   f'label="{label}" tooltip="{tip}"];')
        if t.parent in shown:
            out.append(f't{t.parent:x} -> t{t.pa:x} [label="{t.index}" fontsize=8];')
    if len(tables) > len(drawn):
        out.append(f'more [shape=note label="{len(tables) - len(drawn)} more tables not drawn"];')
    return out


def svg_titles(path):
    """Graphviz writes tooltips as xlink:title, which browsers do not show;
    a <title> child does show."""
    with open(path) as f:
        svg = f.read()
    svg = re.sub(r'<a xlink:href="#" xlink:title="([^"]*)">', r'<a><title>\1</title>', svg)
    svg = re.sub(r'<a xlink:title="([^"]*)">', r'<a><title>\1</title>', svg)
    with open(path, "w") as f:
        f.write(svg)


def draw(args):
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".svg", ".png"):
        sys.stderr.write("vtrace: draw writes .svg or .png\n")
        return 2
    t = load(args.file, sys.stdin)
    r = Replay(t)
    r.run(t.events, at=args.at)
    where = f"after event {args.at}" if args.at else "at the end"
    lines = ["digraph vitrine {", "rankdir=TB; node [fontname=Helvetica];",
             f'labelloc=t; label="{html.escape(t.header)} ({where})";']
    if r.pages:
        lines += ["subgraph cluster_mem { label=\"physical memory\";", memory_node(r), "}"]
    lines += ['subgraph cluster_pt { label="page tables";'] + table_nodes(r) + ["}", "}"]
    dot = subprocess.run(["dot", "-T" + ext[1:], "-o", args.output],
                         input="\n".join(lines).encode(), stderr=subprocess.PIPE)
    if dot.returncode:
        sys.stderr.write("vtrace: dot failed: " + dot.stderr.decode(errors="replace")[:300])
        return 2
    if ext == ".svg":
        svg_titles(args.output)
    print(f"wrote {args.output}: {r.pages} pages, {len(r.tables)} tables ({where})")
    return 0


SPAN_TRACKS = {"stage": 1000, "scenario": 1001}


def perfetto(args):
    """Instants a sequence number apart, one track (tid) per category; spans
    for boot stages (boot.stage name=X ends stage X) and scenarios
    (test.begin to test.end); counters from the replay."""
    t = load(args.file, sys.stdin)
    r = Replay(t)
    tids = {}
    out = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "vitrine"}}]
    for name, tid in SPAN_TRACKS.items():
        out.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name",
                    "args": {"name": "boot stages" if name == "stage" else "scenarios"}})
    stage_from, open_tests = [0], {}

    def track(cat):
        if cat not in tids:
            tids[cat] = len(tids) + 1
            out.append({"ph": "M", "pid": 1, "tid": tids[cat], "name": "thread_name",
                        "args": {"name": cat}})
        return tids[cat]

    def observe(r, e):
        ts = e.seq
        out.append({"ph": "i", "s": "t", "ts": ts, "pid": 1, "tid": track(e.cat), "cat": e.cat,
                    "name": e.full, "args": e.keys})
        if e.full == "boot.stage":
            out.append(span("stage", e.keys.get("name", "?"), stage_from[0], ts))
            stage_from[0] = ts
        elif e.full == "test.begin":
            open_tests[e.keys.get("name", "?")] = ts
        elif e.full == "test.end" and e.keys.get("name", "?") in open_tests:
            name = e.keys.get("name", "?")
            out.append(span("scenario", name, open_tests.pop(name), ts))
        out.extend(counters(r, e, ts))

    r.run(t.events, observe=observe)
    for name, start in open_tests.items():  # a run that stopped inside a scenario
        out.append(span("scenario", name + " (unfinished)", start, t.last))
    with open(args.output, "w") as f:
        json.dump({"traceEvents": out, "displayTimeUnit": "ns",
                   "otherData": {"header": t.header, "time": "sequence number"}}, f)
    print(f"wrote {args.output}: {len(out)} trace events from {len(t.events)} events, "
          f"{len(tids)} category tracks")
    return 0


def span(track, name, start, end):
    return {"ph": "X", "ts": start, "dur": max(1, end - start), "pid": 1,
            "tid": SPAN_TRACKS[track], "name": name, "cat": track}


def counters(r, e, ts):
    """Counter samples after e: free pages, pool pages, heap, mapped pages."""
    c = []
    if e.cat == "pmm" and r.pages:
        c.append({"ph": "C", "ts": ts, "pid": 1, "name": "free pages", "args": {"free": r.free}})
    if e.cat == "ptp":
        c.append({"ph": "C", "ts": ts, "pid": 1, "name": "pool pages used",
                  "args": {f"pool {p.id}": len(p.allocated) for p in r.pools.values()}})
    if e.cat == "heap" or (e.cat == "kalloc" and e.keys.get("why") == "heap"):
        c.append({"ph": "C", "ts": ts, "pid": 1, "name": "heap",
                  "args": {"objects": len(r.objects), "slabs": len(r.slabs),
                           "bytes": sum(o.size for o in r.objects.values())}})
    if e.cat == "vm":
        c.append({"ph": "C", "ts": ts, "pid": 1, "name": "mapped 4K pages",
                  "args": {f"as{a}": n for a, n in r.mapped.items()}})
    return c
