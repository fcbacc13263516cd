"""render - vtrace draw (graphviz) and vtrace perfetto (trace-event JSON).

draw: one graphviz graph with two parts. "physical memory" is the bitmap
as a grid of at most 64 x 64 cells, each cell a run of pages coloured by the
reason most of its pages are used (white: free). "page tables" is the tree
of live table pages, PML4 at the top, each labelled with level, physical
address, the VA it starts at and its present entries. `dot` writes SVG or PNG.
"""
import html
import json
import os
import subprocess
import sys

from .replay import Replay, REASONS
from .tracefile import load

COLOURS = {"free": "#ffffff", "firmware": "#9e9e9e", "low": "#bdbdbd",
           "kernel": "#e53935", "bootinfo": "#8e24aa", "module": "#6d4c41",
           "bitmap": "#fb8c00", "pool": "#1e88e5", "alloc": "#43a047",
           "kalloc": "#00897b", "heap": "#c0ca33", "test": "#f06292"}
GRID = 64
MAX_TABLES = 200


def cell_reasons(r):
    """Per cell: (first page, pages, dominant reason name)."""
    per = max(1, -(-r.pages // (GRID * GRID)))
    cells = []
    for first in range(0, r.pages, per):
        chunk = r.why[first:first + per]
        best = max(set(chunk), key=chunk.count)
        cells.append((first, len(chunk), REASONS[best - 1] if best else "free"))
    return cells, per


def memory_node(r):
    cells, per = cell_reasons(r)
    rows = []
    for i in range(0, len(cells), GRID):
        tds = "".join(f'<td bgcolor="{COLOURS.get(w, "#000000")}" width="10" height="10" '
                      f'tooltip="pa={first * 4096:#x} {w}"></td>'
                      for first, _, w in cells[i:i + GRID])
        rows.append(f'<tr><td align="right"><font point-size="8">{cells[i][0] * 4096:#x}'
                    f'</font></td>{tds}</tr>')
    used = sorted({w for _, _, w in cells})
    legend = "".join(f'<td bgcolor="{COLOURS.get(w, "#000000")}">'
                     f'<font point-size="9">{w}</font></td>' for w in used)
    title = (f"physical memory: {r.pages} pages, a cell = {per} page(s); "
             f"free {r.free}, used {r.usable - r.free} of {r.usable} usable")
    return (f'mem [shape=plaintext label=<<table border="0" cellspacing="1" cellpadding="0">'
            f'<tr><td colspan="{GRID + 1}">{html.escape(title)}</td></tr>{"".join(rows)}'
            f'<tr><td></td><td colspan="{GRID}"><table border="0" cellspacing="2"><tr>{legend}'
            f'</tr></table></td></tr></table>>];')


def table_nodes(r):
    names = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}
    tables = sorted(r.tables.values(), key=lambda t: (t.root, -t.level, t.va))
    empty = [t for t in tables if not t.used and t.level < 4]
    if len(empty) > 8:  # e.g. the kernel half's PDPTs made in advance
        tables = [t for t in tables if t.used or t.level == 4]
    tables = tables[:MAX_TABLES]
    shown = {t.pa for t in tables}
    out = []
    if len(empty) > 8:
        out.append(f'empty [shape=note label="{len(empty)} empty tables not drawn"];')
    for t in tables:
        label = f"{names[t.level]} {t.pa:#x}\\nva {t.va:#x}\\n{t.used} present"
        out.append(f't{t.pa:x} [shape=box style=filled fillcolor="#e3f2fd" '
                   f'fontsize=9 label="{label}"];')
        if t.parent in shown:
            out.append(f't{t.parent:x} -> t{t.pa:x} [label="{t.index}" fontsize=8];')
    if len(r.tables) > MAX_TABLES:
        out.append(f'more [shape=note label="{len(r.tables) - MAX_TABLES} more tables"];')
    return out


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
    print(f"wrote {args.output}: {r.pages} pages, {len(r.tables)} tables ({where})")
    return 0


def perfetto(args):
    """Instant events a sequence number apart, scenario spans, counters."""
    t = load(args.file, sys.stdin)
    r = Replay(t)
    out = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "vitrine"}}]

    def observe(r, e):
        ts = e.seq
        ph = {"test.begin": "B", "test.end": "E"}.get(e.full, "i")
        ev = {"ph": ph, "ts": ts, "pid": 1, "tid": 1, "cat": e.cat,
              "name": e.keys.get("name", e.full) if ph != "i" else e.full, "args": e.keys}
        if ph == "i":
            ev["s"] = "t"
        out.append(ev)
        if e.cat == "pmm" and r.pages:
            out.append({"ph": "C", "ts": ts, "pid": 1, "name": "free pages",
                        "args": {"free": r.free}})
        if e.cat == "ptp":
            out.append({"ph": "C", "ts": ts, "pid": 1, "name": "pool pages used",
                        "args": {str(p.id): len(p.allocated) for p in r.pools.values()}})
        if e.cat == "vm":
            out.append({"ph": "C", "ts": ts, "pid": 1, "name": "mapped 4K pages",
                        "args": {f"as{a}": n for a, n in r.mapped.items()}})

    r.run(t.events, observe=observe)
    with open(args.output, "w") as f:
        json.dump({"traceEvents": out, "displayTimeUnit": "ns",
                   "otherData": {"header": t.header, "time": "sequence number"}}, f)
    print(f"wrote {args.output}: {len(out)} trace events from {len(t.events)} events")
    return 0
