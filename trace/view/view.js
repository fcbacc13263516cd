// view.js - the trace viewer's script, inlined by trace/vtracelib/view.py.
//
// It shows what the Python side computed: per trace, checkpoints of the
// whole replayed state and per event the delta the replay made (ops "b"
// bitmap run, "M"/"L" 4K/2M mapping, "T" table, "R" PML4 root, "s"
// summary; a trailing "-" removes, "M0"/"L0" resets an address space).
// Engine rebuilds the state at event i from them; everything else draws.
// It never reads an event's keys to decide what changed.
"use strict";

const STARTED = performance.now();
const DATA = JSON.parse(document.getElementById("data").textContent);
const PARSED = performance.now();
for (const m of DATA.traces) m.lines = m.lines ? m.lines.split("\n") : [];
// An event's delta, parsed when first needed (a page of 100,000 events opens fast).
const deltaOf = (m, i) => {
  if (i < 0 || i >= m.deltas.length) return [];
  if (typeof m.deltas[i] === "string") m.deltas[i] = JSON.parse(m.deltas[i]);
  return m.deltas[i];
};
const DOC_LINK = "__DOC__";
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const hex = (n, pad) => "0x" + BigInt(n).toString(16).padStart(pad || 0, "0");
const pageHex = (pn, pad) => "0x" + (BigInt(pn) << 12n).toString(16).padStart(pad || 0, "0");
// A VA page number made canonical: bit 47 set extends into bits 48-63.
const canon = (vpn) => (vpn >= 2 ** 35 && vpn < 2 ** 36 ? vpn + 0xffff000000000 : vpn);
const vaOf = (vpn) => {
  const v = BigInt(canon(vpn)) << 12n;
  return "0x" + v.toString(16).padStart(16, "0");
};
const KB = (pages) => pages * 4;
const sizeText = (pages) => pages >= 256 ? (pages / 256).toFixed(pages % 256 ? 1 : 0) + " MiB"
  : KB(pages) + " KiB";
const CAT_COLOURS = { boot: "#546e7a", cpu: "#d50000", mmap: "#8d6e63", pmm: "#2e7d32",
  ptp: "#1565c0", pt: "#0277bd", vm: "#6a1b9a", tlb: "#ef6c00", as: "#00838f",
  kalloc: "#00695c", heap: "#9e9d24", stat: "#78909c", test: "#ad1457", err: "#c62828",
  warn: "#ff6f00" };
const REGION_COLOURS = { free: "#e8f5e9", firmware: "#9e9e9e", low: "#bdbdbd",
  kernel: "#e53935", bootinfo: "#8e24aa", module: "#6d4c41", bitmap: "#fb8c00",
  alloc: "#43a047", "user frame": "#7cb342",
  kalloc: "#00897b", heap: "#c0ca33", test: "#f06292" };
const REGION_NAMES = { free: "free", firmware: "firmware / reserved", low: "low memory",
  kernel: "kernel image", bootinfo: "boot information", module: "module", bitmap: "bitmap",
  alloc: "allocated pages", kalloc: "kalloc pages", heap: "heap pages", test: "test pages",
  "user frame": "user frames" };
const LEVEL = { 4: "PML4", 3: "PDPT", 2: "PD", 1: "PT" };

// --- the state at event i ---------------------------------------------------

class Engine {
  constructor(model) {
    this.m = model;
    this.at = null;
  }

  reset(cp) {
    this.why = new Uint8Array(cp.pages);
    for (const [a, n, c] of cp.bitmap) this.why.fill(c, a, a + n);
    this.maps = new Map();
    this.large = new Map();
    for (const as of cp.spaces[0]) this.space(this.maps, as);
    for (const as of cp.spaces[1]) this.space(this.large, as);
    for (const [as, k, p, f, s] of cp.maps) this.space(this.maps, as).set(k, [p, f, s]);
    for (const [as, k, p, f, s] of cp.large) this.space(this.large, as).set(k, [p, f, s]);
    this.tables = new Map(cp.tables.map((t) => [t[0], t]));
    this.roots = new Map(cp.roots);
    this.summary = cp.summary;
    this.at = cp.at;
    this.index = null;
  }

  space(which, as) {
    if (!which.has(as)) which.set(as, new Map());
    return which.get(as);
  }

  apply(ops) {
    for (const op of ops) {
      switch (op[0]) {
        case "b": {
          const [, a, n, c] = op;
          if (a + n > this.why.length) {
            const w = new Uint8Array(a + n);
            w.set(this.why);
            this.why = w;
          }
          this.why.fill(c, a, a + n);
          break;
        }
        case "M": { // op[6] pages consecutive in VA and PA
          const sp = this.space(this.maps, op[1]);
          for (let k = 0; k < op[6]; k++) sp.set(op[2] + k, [op[3] + k, op[4], op[5]]);
          break;
        }
        case "L": this.space(this.large, op[1]).set(op[2], [op[3], op[4], op[5]]); break;
        case "M-": {
          const sp = this.space(this.maps, op[1]);
          for (let k = 0; k < op[3]; k++) sp.delete(op[2] + k);
          break;
        }
        case "L-": this.space(this.large, op[1]).delete(op[2]); break;
        case "M0": if (op[2]) this.maps.set(op[1], new Map()); else this.maps.delete(op[1]); break;
        case "L0": if (op[2]) this.large.set(op[1], new Map()); else this.large.delete(op[1]); break;
        case "T": this.tables.set(op[1], op.slice(1)); break;
        case "T-": this.tables.delete(op[1]); break;
        case "R": this.roots.set(op[1], op[2]); break;
        case "R-": this.roots.delete(op[1]); break;
        case "s": // the summary's fields that changed
          this.summary = Object.assign({}, this.summary, op[1]);
          if (this.why.length > this.summary.pages) this.why = this.why.slice(0, this.summary.pages);
          break;
      }
    }
    this.index = null;
  }

  // The state after event i (-1: before the first event).
  goto(i) {
    const cps = this.m.checkpoints;
    let lo = 0, hi = cps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cps[mid].at <= i) lo = mid; else hi = mid - 1;
    }
    if (this.at === null || i < this.at || cps[lo].at > this.at) this.reset(cps[lo]);
    while (this.at < i) {
      this.at++;
      this.apply(deltaOf(this.m, this.at));
    }
  }

  // Child tables by (parent, index), and tables by parent: built once a state.
  children() {
    if (!this.index) {
      const slot = new Map(), under = new Map();
      for (const t of this.tables.values()) {
        slot.set(t[2] + ":" + t[3], t);
        if (!under.has(t[2])) under.set(t[2], []);
        under.get(t[2]).push(t);
      }
      for (const list of under.values()) list.sort((a, b) => a[3] - b[3]);
      this.index = { slot, under };
    }
    return this.index;
  }

  // [va page, pa page, pages, flags] runs as `vtrace state` prints them.
  runs(as) {
    const items = [];
    for (const [k, [p, f]] of this.maps.get(as) || []) items.push([k, p, 1, f]);
    for (const [k, [p, f]] of this.large.get(as) || []) items.push([k * 512, p * 512, 512, f]);
    items.sort((a, b) => a[0] - b[0]);
    const out = [];
    for (const [v, p, n, f] of items) {
      const last = out[out.length - 1];
      if (last && last[0] + last[2] === v && last[1] + last[2] === p && last[3] === f) last[2] += n;
      else out.push([v, p, n, f]);
    }
    return out;
  }

  spaces() {
    return [...new Set([...this.maps.keys(), ...this.large.keys()])].sort((a, b) => a - b);
  }
}

// --- one trace: its list of events, memory and mappings ----------------------

class Pane {
  constructor(model, root, side) {
    this.m = model;
    this.side = side;
    this.engine = new Engine(model);
    this.diverge = -1;
    this.cats = model.lines.map((l) => l.split(" ", 2)[1].split(".")[0]);
    const box = el("div", "pane");
    const title = el("section", "panel");
    title.append(el("h2", "", `Events of ${model.file}`));
    this.list = el("div", "events");
    this.list.tabIndex = 0;
    this.spacer = el("div");
    this.list.append(this.spacer);
    this.list.addEventListener("scroll", () => this.drawRows());
    this.list.addEventListener("click", (ev) => {
      const row = ev.target.closest(".row-e");
      if (row) app.goto(Number(row.dataset.i));
    });
    this.detail = el("div", "detail");
    title.append(this.list, this.detail);
    this.mem = el("section", "panel");
    this.maps = el("section", "panel");
    box.append(title, this.mem, this.maps);
    root.append(box);
  }

  setVisible(vis, matches) {
    this.vis = vis;
    this.matches = matches;
    this.spacer.style.height = vis.length * 18 + "px";
    this.drawRows();
  }

  drawRows() {
    const top = this.list.scrollTop, h = this.list.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / 18) - 5), last = Math.min(this.vis.length, first + Math.ceil(h / 18) + 10);
    for (const r of [...this.list.querySelectorAll(".row-e")]) r.remove();
    const frag = document.createDocumentFragment();
    for (let k = first; k < last; k++) {
      const i = this.vis[k];
      const line = this.m.lines[i];
      const sp = line.indexOf(" ");
      const row = el("div", "row-e");
      row.dataset.i = i;
      row.style.top = k * 18 + "px";
      if (i === this.cur) row.classList.add("current");
      if (i === this.diverge) row.classList.add("diverge");
      if (this.matches && this.matches.has(i)) row.classList.add("match");
      const n = el("span", "seqn", line.slice(0, sp));
      const name = el("b", "", " " + line.slice(sp + 1).split(" ")[0]);
      name.style.color = i === this.cur ? "#fff" : (CAT_COLOURS[this.cats[i]] || "#000");
      row.append(n, name, " " + line.slice(sp + 1).split(" ").slice(1).join(" "));
      row.title = line;
      frag.append(row);
    }
    this.list.append(frag);
  }

  scrollTo(i) {
    let k = this.vis.indexOf(i);
    if (k < 0) return;
    const top = k * 18, h = this.list.clientHeight || 300;
    if (top < this.list.scrollTop || top > this.list.scrollTop + h - 36) this.list.scrollTop = Math.max(0, top - h / 2);
  }

  show(i) {
    this.cur = Math.min(i, this.m.lines.length - 1);
    this.engine.goto(this.cur);
    this.drawRows();
    this.scrollTo(this.cur);
    this.drawDetail();
    this.drawMemory();
    this.drawMappings();
  }

  seqOf(i) { return i < 0 ? 0 : Number(this.m.lines[i].split(" ", 1)[0]); }

  drawDetail() {
    const i = this.cur, d = this.detail;
    d.replaceChildren();
    if (i < 0) return;
    const line = this.m.lines[i];
    const seq = this.seqOf(i);
    const name = line.split(" ", 2)[1];
    const doc = DATA.docs[name] || DATA.docs[name.split(".")[0] + ".<status>"];
    const pre = el("pre", "", line);
    d.append(pre);
    if (doc) {
      const p = el("div");
      const a = el("a", "", "trace-format.md");
      a.href = DOC_LINK + "#" + doc[2];
      a.className = "doclink";
      p.append(el("b", "", name), ` (${doc[0]}): ${doc[1]} `, "[", a, "]");
      d.append(p);
    } else {
      d.append(el("div", "", `${name}: not in trace-format.md`));
    }
    const cmd = this.m.cmdline ? `make debug CMDLINE="${this.m.cmdline}" BREAK=${seq}` : `make debug BREAK=${seq}`;
    const dbg = el("div");
    dbg.append("In Bochs, stop just before this event: ", el("code", "debugcmd", cmd));
    d.append(dbg);
    const changes = describe(this.m, deltaOf(this.m, i));
    if (changes.length) {
      d.append(el("div", "", "What the replay changed:"));
      const ul = el("ul", "changes");
      for (const [cls, text] of changes.slice(0, 60)) ul.append(el("li", cls, text));
      if (changes.length > 60) ul.append(el("li", "", `... and ${changes.length - 60} more`));
      d.append(ul);
    }
  }

  // Physical memory: the bitmap's runs, named, free stretches folded.
  drawMemory() {
    const eng = this.engine, s = eng.summary, box = this.mem;
    box.replaceChildren(el("h2", "", `Physical memory at event ${this.seqOf(this.cur)}`));
    if (!eng.why.length) {
      box.append(el("div", "hint", "No bitmap yet (pmm.init comes later)."));
      return;
    }
    const segs = memorySegments(this.m, eng);
    const changed = changedPages(deltaOf(this.m, this.cur));
    const strip = el("div", "strip"), axis = el("div", "axis");
    const used = s.usable - s.free;
    for (const g of segs) {
      const div = el("div", "seg" + (g.gap ? " gap" : ""));
      div.dataset.first = g.first;
      div.dataset.pages = g.pages;
      div.dataset.reason = g.reason;
      div.dataset.label = g.label;
      div.style.flexGrow = g.weight;
      div.style.flexBasis = "0";
      div.style.background = colour(g.label, g.reason);
      if (g.reason === "free" || g.label === "low") div.classList.add("light");
      if (changed.some(([a, b]) => a < g.first + g.pages && g.first < b)) div.classList.add("changed");
      div.title = `${pageHex(g.first)}-${pageHex(g.first + g.pages)}: ${g.pages} page(s), ${sizeText(g.pages)}, ${nice(g.label)}`;
      div.append(el("span", "lab", g.gap ? `${sizeText(g.pages)} free` : nice(g.label)));
      div.append(el("span", "lab", g.gap ? "" : sizeText(g.pages)));
      strip.append(div);
      const tick = el("span", "", g.weight >= 4 || g.gap ? pageHex(g.first) : "");
      tick.style.flexGrow = g.weight;
      tick.style.flexBasis = "0";
      axis.append(tick);
    }
    box.append(strip, axis);
    const legend = el("div", "legend");
    for (const label of [...new Set(segs.map((g) => g.label))]) {
      const item = el("span");
      const sw = el("i");
      sw.style.background = colour(label, label);
      item.append(sw, nice(label));
      legend.append(item);
    }
    box.append(legend);
    const pools = s.pools.map((p) => `pool ${p[0]}: ${p[5]}/${p[3]} pages handed out`).join(", ");
    box.append(el("div", "counters", `${s.pages} pages covered, ${s.usable} usable, ${used} used, ` +
      `${s.free} free (peak used ${s.peak}). ${pools}. Heap: ${s.heap[0]} objects in ${s.heap[1]} slabs.`));
    if (changed.length) box.append(this.pageGrid(changed));
  }

  // The 512 pages around the first page this event changed, one cell each.
  pageGrid(changed) {
    const eng = this.engine;
    const start = Math.max(0, Math.floor(changed[0][0] / 512) * 512);
    const end = Math.min(eng.why.length, start + 512);
    const wrap = el("div");
    wrap.append(el("div", "hint", `This event changed ${changed.reduce((n, [a, b]) => n + b - a, 0)} page(s); ` +
      `pages ${pageHex(start)}-${pageHex(end)} one cell each (outlined: changed):`));
    const grid = el("div", "grid");
    for (let p = start; p < end; p++) {
      const c = el("div");
      const r = reasonName(this.m, eng.why[p]);
      c.style.background = colour(r, r);
      if (changed.some(([a, b]) => a <= p && p < b)) c.className = "changed";
      c.title = `${pageHex(p)} ${nice(r)}`;
      grid.append(c);
    }
    wrap.append(grid);
    return wrap;
  }

  drawMappings() {
    const eng = this.engine, box = this.maps;
    box.replaceChildren(el("h2", "", `Mappings at event ${this.seqOf(this.cur)} (as vtrace state --at ${this.seqOf(this.cur)})`));
    const touched = changedMappings(deltaOf(this.m, this.cur));
    const pre = el("div", "maplist");
    pre.dataset.at = this.seqOf(this.cur);
    for (const as of eng.spaces()) {
      const root = eng.roots.get(as);
      pre.append(el("div", "as-head", `as ${as}` + (root !== undefined ? ` (PML4 ${hex(root)})` : "") + ":"));
      for (const [v, p, n, f] of eng.runs(as)) {
        const va = BigInt(v) << 12n, pa = BigInt(p) << 12n, size = BigInt(n) << 12n;
        const text = `  ${"0x" + va.toString(16).padStart(16, "0")}-${"0x" + (va + size - 1n).toString(16).padStart(16, "0")}` +
          ` -> ${"0x" + pa.toString(16).padStart(12, "0")}-${"0x" + (pa + size - 1n).toString(16).padStart(12, "0")}` +
          `  ${String(n * 4).padStart(8)}K  ${this.m.flags[f]}`;
        const row = el("div", "run", text);
        if (touched.some(([a, x, y]) => a === as && x < v + n && v < y)) row.classList.add("changed");
        pre.append(row);
      }
    }
    box.append(pre);
  }
}

function reasonName(m, code) { return code ? m.reasons[code - 1] : "free"; }
function nice(label) { return REGION_NAMES[label] || label; }
const POOL_COLOURS = ["#1e88e5", "#5e35b1", "#00acc1", "#3949ab", "#039be5", "#8e24aa"];
function colour(label, reason) {
  if (label.startsWith("pool ")) return POOL_COLOURS[Number(label.slice(5)) % POOL_COLOURS.length];
  return REGION_COLOURS[label] || REGION_COLOURS[reason] || "#455a64";
}

// Runs of equal labels: the reason, "pool N" by the pools' ranges, and
// "user frame" for pages mapped in an address space other than 0.
function memorySegments(m, eng) {
  const why = eng.why, pools = eng.summary.pools;
  const user = new Set();
  for (const [as, map] of eng.maps) if (as !== 0) for (const [, [p]] of map) user.add(p);
  for (const [as, map] of eng.large) if (as !== 0) for (const [, [p]] of map) for (let k = 0; k < 512; k++) user.add(p * 512 + k);
  const label = (p) => {
    const r = reasonName(m, why[p]);
    if (r === "pool") for (const q of pools) if (q[1] / 4096 <= p && p < q[1] / 4096 + q[3]) return "pool " + q[0];
    if (r !== "free" && user.has(p)) return "user frame";
    return r;
  };
  const segs = [];
  let first = 0, cur = label(0);
  for (let p = 1; p <= why.length; p++) {
    const l = p < why.length ? label(p) : null;
    if (l !== cur) {
      segs.push({ first, pages: p - first, label: cur, reason: reasonName(m, why[first]) });
      first = p;
      cur = l;
    }
  }
  for (const g of segs) {
    g.gap = g.label === "free" && g.pages > 64;
    g.weight = g.gap ? 3 : Math.max(1, Math.sqrt(g.pages));
  }
  return segs;
}

function changedPages(ops) {
  return ops.filter((o) => o[0] === "b").map((o) => [o[1], o[1] + o[2]]);
}

function changedMappings(ops) {
  const out = [];
  for (const o of ops) {
    if (o[0] === "M") out.push([o[1], o[2], o[2] + o[6]]);
    if (o[0] === "M-") out.push([o[1], o[2], o[2] + o[3]]);
    if (o[0] === "L" || o[0] === "L-") out.push([o[1], o[2] * 512, o[2] * 512 + 512]);
  }
  return out;
}

// The delta of an event in words, merging runs of mapping ops.
function describe(m, ops) {
  const out = [];
  let run = null;
  const flush = () => { if (run) out.push(run.out()); run = null; };
  for (const o of ops || []) {
    const t = o[0];
    if (t === "M" || t === "M-") {
      flush();
      run = { t, as: o[1], v: o[2], p: o[3], f: o[4], n: t === "M" ? o[6] : o[3],
        out() {
          return this.t === "M" ? ["c-new", `mapped in as ${this.as}: ${vaOf(this.v)} (${this.n} x 4K) -> ${pageHex(this.p)} ${m.flags[this.f]}`]
            : ["c-gone", `unmapped in as ${this.as}: ${vaOf(this.v)} (${this.n} x 4K)`];
        } };
      continue;
    }
    flush();
    if (t === "b") out.push(["", `bitmap: ${o[2]} page(s) at ${pageHex(o[1])} now ${nice(reasonName(m, o[3]))}`]);
    else if (t === "L") out.push(["c-new", `mapped 2M in as ${o[1]}: ${vaOf(o[2] * 512)} -> ${pageHex(o[3] * 512)} ${m.flags[o[4]]}`]);
    else if (t === "L-") out.push(["c-gone", `unmapped 2M in as ${o[1]}: ${vaOf(o[2] * 512)}`]);
    else if (t === "T") out.push(["c-new", `new ${LEVEL[o[2]]} at ${hex(o[1])}, entry ${o[4]} of ${hex(o[3])}, covers ${vaOf(o[5])}`]);
    else if (t === "T-") out.push(["c-gone", `table ${hex(o[1])} removed`]);
    else if (t === "R") out.push(["c-new", `as ${o[1]} has its PML4 at ${hex(o[2])}`]);
    else if (t === "R-") out.push(["c-gone", `as ${o[1]} is gone`]);
    else if ((t === "M0" || t === "L0") && !o[2]) out.push(["c-gone", `as ${o[1]}: all its ${t === "M0" ? "4K" : "2M"} mappings gone`]);
    else if (t === "s") {
      const s = o[1], parts = [];
      if (s.free !== undefined) parts.push(`${s.free} pages free`);
      if (s.pools) parts.push(s.pools.map((p) => `pool ${p[0]}: ${p[5]} of ${p[3]} handed out`).join(", "));
      if (s.mapped) parts.push(s.mapped.map(([a, n]) => `as ${a}: ${n} pages mapped`).join(", "));
      if (s.heap) parts.push(`heap: ${s.heap[0]} objects, ${s.heap[1]} slabs`);
      if (s.cr3 !== undefined) parts.push(`CR3 holds as ${s.cr3}`);
      if (parts.length) out.push(["", "counters: " + parts.join("; ")]);
    }
  }
  flush();
  return out;
}

// --- the page-table tree, translate, diff (the first trace) --------------------

function regionOf(s, vpn) {
  vpn = canon(vpn);
  for (const [name, lo, hi] of s.regions.slice(1).concat([s.regions[0]])) if (lo <= vpn && vpn < hi) return name;
  return "";
}

function flagChips(text) {
  const span = el("span");
  for (const f of text.split("|")) if (f !== "P") span.append(el("span", "flag " + f, f));
  return span;
}

class Tree {
  constructor(pane, root) {
    this.pane = pane;
    this.root = root;
    this.open = new Set();
    this.seen = new Set(); // PML4s shown before: a new one starts open
    root.addEventListener("toggle", (ev) => {
      const d = ev.target;
      if (!d.dataset || !d.dataset.key) return;
      if (d.open) { this.open.add(d.dataset.key); this.fill(d); } else this.open.delete(d.dataset.key);
    }, true);
  }

  draw() {
    const eng = this.pane.engine, ops = deltaOf(this.pane.m, this.pane.cur);
    const { under } = eng.children();
    this.changedTables = new Set(ops.filter((o) => o[0] === "T" || o[0] === "T-").map((o) => o[1]));
    this.changedMaps = changedMappings(ops);
    for (const pa of eng.roots.values()) {
      if (!this.seen.has(pa)) { this.seen.add(pa); this.open.add(String(pa)); }
    }
    for (const pa of this.changedTables) this.openPath(pa);
    for (const [as, v] of this.changedMaps) this.openLeaf(as, v);
    this.root.replaceChildren();
    if (!eng.roots.size) this.root.append(el("div", "empty", "No PML4 yet."));
    for (const [as, pa] of [...eng.roots].sort((a, b) => a[0] - b[0])) {
      const t = eng.tables.get(pa);
      if (t) this.root.append(this.node(t, `as ${as}: `, as));
    }
    this.under = under;
  }

  // Opens the tables above table pa.
  openPath(pa) {
    const eng = this.pane.engine;
    let t = eng.tables.get(pa);
    while (t && t[2]) { this.open.add(String(t[2])); t = eng.tables.get(t[2]); }
  }

  openLeaf(as, vpn) {
    const eng = this.pane.engine, { slot } = eng.children();
    const root = eng.roots.get(vpn >= 0xffff800000000 ? 0 : as);
    let pa = root;
    for (const lv of [4, 3, 2]) {
      if (pa === undefined) return;
      this.open.add(String(pa));
      const t = slot.get(pa + ":" + idx(vpn, lv));
      pa = t ? t[0] : undefined;
    }
    if (pa !== undefined) this.open.add(String(pa));
  }

  node(t, prefix, as) {
    const d = el("details");
    d.dataset.key = String(t[0]);
    const s = this.pane.engine.summary;
    const sum = el("summary");
    const kids = (this.pane.engine.children().under.get(t[0]) || []).length;
    const where = t[1] === 4 ? [] : [el("span", "", `va ${vaOf(t[4])} `), el("span", "region", regionOf(s, t[4]))];
    sum.append(prefix || "", el("span", "lvl", LEVEL[t[1]]), ` ${hex(t[0])} `, ...where,
      ` (pool ${t[5]}, made by event ${t[6]}, ${kids} table(s) below)`);
    d.append(sum);
    if (this.changedTables.has(t[0])) d.classList.add("changed");
    if (this.open.has(d.dataset.key)) { d.open = true; this.fill(d, t, as); }
    d._t = t;
    d._as = as;
    return d;
  }

  // The entries of an opened table: child tables, leaves as runs, empty slots counted.
  fill(d, t, as) {
    t = t || d._t;
    as = as === undefined ? d._as : as;
    if (d._filled) return;
    d._filled = true;
    const eng = this.pane.engine, m = this.pane.m, { slot } = eng.children();
    const rec = (eng.summary.pools.find((p) => p[0] === t[5]) || [])[6];
    let emptyRun = null;
    const flushEmpty = () => {
      if (emptyRun) d.append(el("div", "empty", `entries ${emptyRun[0]}-${emptyRun[1]}: ${emptyRun[1] - emptyRun[0] + 1} empty ${LEVEL[t[1] - 1]}(s) made in advance`));
      emptyRun = null;
    };
    let leaf = null;
    const flushLeaf = () => { if (leaf) d.append(leaf.div()); leaf = null; };
    for (let i = 0; i < 512; i++) {
      const child = slot.get(t[0] + ":" + i);
      const vpn = t[4] + i * Math.pow(512, t[1] - 1);
      if (child) {
        flushLeaf();
        const empty = !(eng.children().under.get(child[0]) || []).length && !this.hasLeaves(child, as);
        if (empty && !this.changedTables.has(child[0])) {
          if (emptyRun && emptyRun[1] === i - 1) emptyRun[1] = i; else { flushEmpty(); emptyRun = [i, i]; }
          continue;
        }
        flushEmpty();
        d.append(this.node(child, `[${i}] `, as));
        continue;
      }
      flushEmpty();
      if (t[1] === 4 && rec === i) {
        d.append(el("div", "leaf", `[${i}] -> this PML4 itself: the recursive window ${vaOf(vpn)}`));
        continue;
      }
      const mapAs = vpn >= 0xffff800000000 ? 0 : as;
      let hit = null, pages = 0;
      if (t[1] === 2) { const e = (eng.large.get(mapAs) || new Map()).get(vpn / 512); if (e) { hit = e; pages = 512; } }
      if (t[1] === 1) { const e = (eng.maps.get(mapAs) || new Map()).get(vpn); if (e) { hit = e; pages = 1; } }
      if (!hit) { flushLeaf(); continue; }
      const pa = t[1] === 2 ? hit[0] * 512 : hit[0];
      const ch = this.changedMaps.some(([a, x, y]) => a === mapAs && x < vpn + pages && vpn < y);
      if (leaf && leaf.next === i && leaf.pa + leaf.n * pages === pa && leaf.f === hit[1] && leaf.ch === ch) { leaf.n++; leaf.next = i + 1; continue; }
      flushLeaf();
      const size = pages === 512 ? "2M" : "4K";
      leaf = { i0: i, next: i, n: 1, pa, f: hit[1], ch, vpn, seq: hit[2],
        div() {
          const row = el("div", "leaf" + (this.ch ? " changed" : ""));
          const span = this.n > 1 ? `[${this.i0}-${this.i0 + this.n - 1}] ${this.n} x ${size}` : `[${this.i0}] ${size}`;
          row.append(`${span} ${vaOf(this.vpn)} -> ${pageHex(this.pa)} `, flagChips(m.flags[this.f]),
            el("span", "region", regionOf(eng.summary, this.vpn)), ` (event ${this.seq})`);
          return row;
        } };
      leaf.next = i + 1;
    }
    flushLeaf();
    flushEmpty();
  }

  hasLeaves(t, as) {
    const eng = this.pane.engine, mapAs = t[4] >= 0xffff800000000 ? 0 : as;
    if (t[1] === 1) { const mm = eng.maps.get(mapAs); if (!mm) return false; for (let i = 0; i < 512; i++) if (mm.has(t[4] + i)) return true; }
    if (t[1] === 2) { const mm = eng.large.get(mapAs); if (!mm) return false; for (let i = 0; i < 512; i++) if (mm.has(t[4] / 512 + i)) return true; }
    return false;
  }
}

function idx(vpn, level) { return Math.floor(vpn / Math.pow(512, level - 1)) % 512; }

// A four-level walk of va in address space as, over the replayed tables.
function walk(eng, vaText, as) {
  let va;
  try { va = BigInt(vaText.trim()); } catch (e) { return [["stop", `not a number: ${vaText}`]]; }
  const top = va >> 47n;
  if (va < 0n || va >= (1n << 64n) || !(top === 0n || top === 0x1ffffn)) return [["stop", `${hex(va)} is not canonical (bits 63-47 must all be equal)`]];
  const vpn = Number((va >> 12n) & ((1n << 52n) - 1n));
  const mapAs = va >= 0xffff800000000000n ? 0 : as;
  const out = [];
  const s = eng.summary;
  out.push(["", `va ${hex(va, 16)} (${regionOf(s, vpn) || "no named region"}): PML4 index ${idx(vpn, 4)}, PDPT ${idx(vpn, 3)}, PD ${idx(vpn, 2)}, PT ${idx(vpn, 1)}, offset ${hex(va & 0xfffn)}`]);
  const root = eng.roots.get(mapAs);
  if (root === undefined) return out.concat([["stop", `as ${mapAs} has no PML4 at this event`]]);
  if (mapAs !== as) out.push(["", `(the kernel half: as ${as} shares the tables of as 0)`]);
  const { slot } = eng.children();
  let pa = root;
  for (const lv of [4, 3, 2, 1]) {
    const i = idx(vpn, lv);
    if (lv === 2) {
      const big = (eng.large.get(mapAs) || new Map()).get(Math.floor(vpn / 512));
      if (big) {
        const phys = (BigInt(big[0]) << 21n) + (va & 0x1fffffn);
        return out.concat([["", `${LEVEL[lv]} ${hex(pa)} entry ${i}: 2M page at ${hex(BigInt(big[0]) << 21n)} ${eng.m.flags[big[1]]} (event ${big[2]})`],
          ["ok", `=> physical ${hex(phys)}`]]);
      }
    }
    if (lv === 1) {
      const e = (eng.maps.get(mapAs) || new Map()).get(vpn);
      if (!e) return out.concat([["stop", `${LEVEL[lv]} ${hex(pa)} entry ${i}: not present - the walk stops (a page fault)`]]);
      const phys = (BigInt(e[0]) << 12n) + (va & 0xfffn);
      return out.concat([["", `${LEVEL[lv]} ${hex(pa)} entry ${i}: 4K page at ${pageHex(e[0])} ${eng.m.flags[e[1]]} (event ${e[2]})`],
        ["ok", `=> physical ${hex(phys)}`]]);
    }
    const child = slot.get(pa + ":" + i);
    if (!child) {
      const rec = (s.pools.find((p) => p[1] === root) || [])[6];
      if (lv === 4 && rec === i) return out.concat([["stop", `PML4 ${hex(pa)} entry ${i}: the recursive slot, it points to the PML4 itself (the walk goes on through the tables as pages)`]]);
      return out.concat([["stop", `${LEVEL[lv]} ${hex(pa)} entry ${i}: not present - the walk stops (a page fault)`]]);
    }
    out.push(["", `${LEVEL[lv]} ${hex(pa)} entry ${i} -> ${LEVEL[lv - 1]} ${hex(child[0])}`]);
    pa = child[0];
  }
  return out;
}

// The state as flat maps, for the diff of two events.
function snapshot(eng) {
  const maps = new Map();
  for (const [as, mm] of eng.maps) for (const [k, v] of mm) maps.set(`${as}:4K:${k}`, [as, k, 1, v[0], v[1]]);
  for (const [as, mm] of eng.large) for (const [k, v] of mm) maps.set(`${as}:2M:${k}`, [as, k * 512, 512, v[0] * 512, v[1]]);
  return { why: eng.why.slice(), maps, tables: new Map(eng.tables) };
}

function diffStates(m, a, b) {
  const out = { mapped: [], unmapped: [], changed: [], allocated: [], freed: [], reasons: [], tablesNew: [], tablesGone: [] };
  for (const [k, v] of b.maps) {
    const old = a.maps.get(k);
    if (!old) out.mapped.push(v);
    else if (old[3] !== v[3] || old[4] !== v[4]) out.changed.push([old, v]);
  }
  for (const [k, v] of a.maps) if (!b.maps.has(k)) out.unmapped.push(v);
  const n = Math.max(a.why.length, b.why.length);
  let run = null;
  for (let p = 0; p <= n; p++) {
    const x = a.why[p] || 0, y = b.why[p] || 0;
    const kind = p === n || x === y ? null : !x ? "allocated" : !y ? "freed" : "reasons";
    if (run && (kind !== run.kind || x !== run.x || y !== run.y)) { out[run.kind].push([run.first, p - run.first, run.x, run.y]); run = null; }
    if (kind && !run) run = { kind, first: p, x, y };
  }
  for (const [pa, t] of b.tables) if (!a.tables.has(pa)) out.tablesNew.push(t);
  for (const [pa, t] of a.tables) if (!b.tables.has(pa)) out.tablesGone.push(t);
  return out;
}

function coalesce(list) { // mapping entries [as, vpn, pages, ppn, flags] -> runs
  list.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out = [];
  for (const v of list) {
    const l = out[out.length - 1];
    if (l && l[0] === v[0] && l[1] + l[2] === v[1] && l[3] + l[2] === v[3] && l[4] === v[4]) l[2] += v[2];
    else out.push(v.slice());
  }
  return out;
}

// --- the app: controls, timeline, search --------------------------------------

const app = {
  init() {
    this.panes = DATA.traces.map((m, k) => new Pane(m, $("panes"), k));
    this.main = this.panes[0];
    this.tree = new Tree(this.main, $("tree"));
    const m = this.main.m;
    this.n = m.lines.length;
    $("title").textContent = `${m.file}: ${m.header} - ${this.n} events, status=${m.status || "none (cut short)"}` +
      (m.findings.length ? `, ${m.findings.length} finding(s) by vtrace check` : "");
    $("scrub").max = Math.max(0, this.n - 1);
    this.catsShown = new Set(this.main.cats);
    this.drawCats();
    this.bind();
    this.compare();
    this.filter();
    for (const as of [0, ...m.spaces]) {
      if (!$("va-as").querySelector(`option[value="${as}"]`)) $("va-as").append(new Option(`${as}`, `${as}`));
    }
    this.goto(this.n - 1);
    this.readyAt = performance.now();
    this.phases = { script: STARTED, parsed: PARSED, ready: this.readyAt };
  },

  drawCats() {
    const box = $("cats");
    box.append("show: ");
    for (const c of [...new Set(this.main.cats)]) {
      const lab = el("label");
      const cb = el("input");
      cb.type = "checkbox";
      cb.checked = true;
      cb.dataset.cat = c;
      cb.addEventListener("change", () => {
        if (cb.checked) this.catsShown.add(c); else this.catsShown.delete(c);
        this.filter();
      });
      const sw = el("span", "sw");
      sw.style.background = CAT_COLOURS[c] || "#000";
      lab.append(cb, sw, c);
      box.append(lab);
    }
  },

  bind() {
    $("scrub").addEventListener("input", (e) => this.goto(Number(e.target.value)));
    $("first").onclick = () => this.goto(this.vis[0]);
    $("last").onclick = () => this.goto(this.vis[this.vis.length - 1]);
    $("prev").onclick = () => this.step(-1);
    $("next").onclick = () => this.step(1);
    $("seq").addEventListener("change", (e) => this.gotoSeq(Number(e.target.value)));
    document.addEventListener("keydown", (e) => {
      if (e.target.matches("input:not([type=range]), select, textarea")) return;
      const keys = { ArrowLeft: () => this.step(-1), ArrowRight: () => this.step(1),
        Home: () => this.goto(this.vis[0]), End: () => this.goto(this.vis[this.vis.length - 1]),
        "/": () => $("search").focus() };
      if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
    });
    $("search").addEventListener("input", () => this.filter());
    $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") this.nextMatch(e.shiftKey ? -1 : 1); });
    $("search-next").onclick = () => this.nextMatch(1);
    $("search-prev").onclick = () => this.nextMatch(-1);
    const tl = $("timeline");
    const jump = (e) => {
      const r = tl.getBoundingClientRect();
      this.goto(Math.max(0, Math.min(this.n - 1, Math.floor((e.clientX - r.left) / r.width * this.n))));
    };
    tl.addEventListener("mousedown", (e) => { jump(e); tl.onmousemove = (ev) => ev.buttons && jump(ev); });
    window.addEventListener("resize", () => this.drawTimeline());
    $("translate-form").addEventListener("submit", (e) => { e.preventDefault(); this.translate(); });
    $("diff-form").addEventListener("submit", (e) => { e.preventDefault(); this.diff(); });
  },

  // Events shown: the categories ticked; matches: the search's hits.
  filter() {
    const q = $("search").value.trim().toLowerCase();
    const m = this.main.m;
    let addr = null;
    if (/^0x[0-9a-f]+$/.test(q)) addr = Number(BigInt(q) >> 12n & ((1n << 52n) - 1n));
    if (addr !== null && typeof m.extents === "string") m.extents = JSON.parse(m.extents);
    this.matches = new Set();
    if (q) {
      m.lines.forEach((l, i) => {
        const x = m.extents, k = 4 * i;
        if (l.toLowerCase().includes(q) || (addr !== null &&
          ((x[k] <= addr && addr < x[k + 1]) || (x[k + 2] <= addr && addr < x[k + 3])))) this.matches.add(i);
      });
    }
    this.vis = [];
    for (let i = 0; i < this.n; i++) if (this.catsShown.has(this.main.cats[i])) this.vis.push(i);
    if (!this.vis.length && this.n) this.vis = [this.cur || 0]; // every category hidden
    $("search-count").textContent = q ? `${this.matches.size} match(es)` : "";
    this.main.setVisible(this.vis, this.matches);
    for (const p of this.panes.slice(1)) p.setVisible(p.m.lines.map((_, i) => i), null);
    this.drawTimeline();
  },

  nextMatch(dir) {
    if (!this.matches.size) return;
    const all = [...this.matches].sort((a, b) => a - b);
    const after = dir > 0 ? all.find((i) => i > this.cur) : [...all].reverse().find((i) => i < this.cur);
    this.goto(after === undefined ? (dir > 0 ? all[0] : all[all.length - 1]) : after);
  },

  step(dir) {
    const k = this.vis.findIndex((i) => i >= this.cur);
    let j;
    if (dir > 0) j = this.vis[this.vis[k] === this.cur ? k + 1 : k];
    else j = this.vis[(k < 0 ? this.vis.length : k) - 1];
    if (j !== undefined) this.goto(j);
  },

  gotoSeq(seq) {
    const lines = this.main.m.lines;
    let lo = 0, hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Number(lines[mid].split(" ", 1)[0]) <= seq) lo = mid; else hi = mid - 1;
    }
    this.goto(lo);
  },

  goto(i) {
    if (i === undefined || Number.isNaN(i)) return;
    const t0 = performance.now();
    this.cur = this.n ? Math.max(0, Math.min(this.n - 1, i)) : -1;
    for (const p of this.panes) p.show(this.cur);
    this.tree.draw();
    $("scrub").value = this.cur;
    $("seq").value = this.main.seqOf(this.cur);
    $("where").textContent = `${this.cur + 1} of ${this.n}`;
    for (const s of document.querySelectorAll(".at")) s.textContent = this.main.seqOf(this.cur);
    if (!$("diff-b").value) { $("diff-b").value = this.main.seqOf(this.cur); $("diff-a").value = 0; }
    this.drawTimeline();
    document.body.dataset.at = this.main.seqOf(this.cur);
    this.lastDraw = performance.now() - t0;
  },

  drawTimeline() {
    const c = $("timeline"), w = c.clientWidth || 800, h = 64;
    if (c.width !== w) c.width = w;
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    // One row per category (a track), a pixel column per slice of events.
    if (!this.catRows) {
      this.catNames = [...new Set(this.main.cats)];
      const index = new Map(this.catNames.map((c, k) => [c, k]));
      this.catRows = Uint8Array.from(this.main.cats, (c) => index.get(c));
    }
    const cats = this.catNames, rowH = Math.max(2, Math.floor((h - 8) / cats.length));
    const hit = new Uint8Array(w * cats.length);
    for (let i = 0; i < this.n; i++) hit[Math.floor(i / this.n * w) * cats.length + this.catRows[i]] = 1;
    for (let k = 0; k < hit.length; k++) {
      if (!hit[k]) continue;
      const cat = cats[k % cats.length];
      g.fillStyle = this.catsShown.has(cat) ? CAT_COLOURS[cat] || "#000" : "#e0e0e0";
      g.fillRect(Math.floor(k / cats.length), 4 + (k % cats.length) * rowH, 1, rowH - 1);
    }
    g.fillStyle = "rgba(255,171,0,.9)";
    for (const i of this.matches || []) g.fillRect(Math.floor(i / this.n * w), 0, 1, 3);
    if (this.divergeAt !== undefined) {
      g.fillStyle = "#d50000";
      g.fillRect(Math.floor(this.divergeAt / this.n * w) - 1, 0, 3, h);
    }
    g.fillStyle = "#000";
    g.fillRect(Math.floor(this.cur / this.n * w), 0, 2, h);
  },

  compare() {
    const c = DATA.compare;
    if (!c) return;
    const b = $("compare-banner");
    b.hidden = false;
    if (c.same) { b.textContent = `The two traces are the same (${DATA.traces[1].file}).`; return; }
    this.divergeAt = c.a;
    this.panes[0].diverge = c.a;
    this.panes[1].diverge = c.b;
    b.textContent = `First divergence of ${DATA.traces[1].file} from ${DATA.traces[0].file}: line ${c.line}, ` +
      `event ${this.main.seqOf(c.a)} - ${c.why}`;
    b.dataset.event = this.main.seqOf(c.a);
    const go = el("button", "", "jump there");
    go.id = "jump-divergence";
    go.onclick = () => this.goto(c.a);
    b.append(go);
  },

  translate() {
    const lines = walk(this.main.engine, $("va").value, Number($("va-as").value));
    const pre = $("walk");
    pre.replaceChildren();
    for (const [cls, text] of lines) pre.append(el("div", cls, text));
  },

  diff() {
    const m = this.main.m, eng = new Engine(m);
    const idxOf = (seq) => { const i = m.lines.findIndex((l) => Number(l.split(" ", 1)[0]) > seq); return (i < 0 ? m.lines.length : i) - 1; };
    const sa = Number($("diff-a").value), sb = Number($("diff-b").value);
    eng.goto(idxOf(sa));
    const a = snapshot(eng);
    eng.goto(idxOf(sb));
    const d = diffStates(m, a, snapshot(eng));
    const box = $("diff");
    box.replaceChildren();
    const part = (kind, title, cls, items, fmt) => {
      const sec = el("div", "diff-part");
      sec.dataset.kind = kind;
      sec.append(el("h3", "", `${title}: ${items.length}`));
      const ul = el("ul");
      for (const x of items.slice(0, 200)) ul.append(el("li", cls, fmt(x)));
      if (items.length > 200) ul.append(el("li", "", `... and ${items.length - 200} more`));
      sec.append(ul);
      box.append(sec);
    };
    const mapText = (v) => `as ${v[0]} ${vaOf(v[1])} ${v[2]} page(s) -> ${pageHex(v[3])} ${m.flags[v[4]]}`;
    box.append(el("div", "hint", `From after event ${sa} to after event ${sb}:`));
    part("mapped", "mapped", "plus", coalesce(d.mapped), mapText);
    part("unmapped", "unmapped", "minus", coalesce(d.unmapped), mapText);
    part("changed", "changed", "tilde", d.changed, ([o, v]) => `as ${v[0]} ${vaOf(v[1])}: ${pageHex(o[3])} ${m.flags[o[4]]} -> ${pageHex(v[3])} ${m.flags[v[4]]}`);
    const pg = (r) => `${pageHex(r[0])} ${r[1]} page(s) ${nice(reasonName(m, r[2]))} -> ${nice(reasonName(m, r[3]))}`;
    part("allocated", "allocated pages", "plus", d.allocated, pg);
    part("freed", "freed pages", "minus", d.freed, pg);
    part("repurposed", "re-purposed pages", "tilde", d.reasons, pg);
    part("tables-new", "new tables", "plus", d.tablesNew, (t) => `${LEVEL[t[1]]} ${hex(t[0])} covering ${vaOf(t[4])}`);
    part("tables-freed", "freed tables", "minus", d.tablesGone, (t) => `${LEVEL[t[1]]} ${hex(t[0])} covering ${vaOf(t[4])}`);
  },
};

window.vitrine = app;
app.init();
