#!/usr/bin/env node
// test_view - `trace/vtrace view` pages driven in headless Chromium.
//
//   node tests/browser/test_view.js --trace TRACE --out DIR [NAME...]
//
// Writes DIR/view.html for TRACE (a kernel trace), scrubs it to several
// events and compares what its panels show with what the Python side
// computes without the viewer (tests/browser/expect.py: `vtrace state --at
// N` and a fresh replay's bitmap). Checks the keyboard, the filters, the
// search, translate and diff, and that --compare finds the first
// divergence of a mutated trace. Screenshots go to DIR/*.png (docs use
// them). Prints TAP: "ok N - name" / "not ok N - name".
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { launch, open } = require("./browser.js");

const ROOT = path.resolve(__dirname, "..", "..");
const VTRACE = path.join(ROOT, "trace", "vtrace");

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const TRACE = path.resolve(option("--trace", path.join(ROOT, "build", "run", "trace.log")));
const OUT = path.resolve(option("--out", path.join(ROOT, "build", "browser")));
const ONLY = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !["--trace", "--out"].includes(all[i - 1]));

const python = (args) => execFileSync("python3", args, { cwd: ROOT, maxBuffer: 1 << 28 }).toString();
const vtrace = (...args) => python([VTRACE, ...args]);

// --- the trace, read here only to choose events and to mutate it -----------

const lines = fs.readFileSync(TRACE, "utf8").split("\n");
const events = lines.filter((l) => /^\d+ /.test(l));
const seqOf = (l) => Number(l.split(" ", 1)[0]);
const first = (re) => { const l = events.find((e) => re.test(e)); return l ? seqOf(l) : null; };
const LAST = seqOf(events[events.length - 1]);
// Events to scrub to: the bitmap's birth, the first map, CR3, a user
// space's map, an unmap, a table freed, the middle and the last.
const PICKS = [...new Set([first(/ pmm\.init /), first(/ vm\.map /), first(/ tlb\.cr3 /),
  first(/ vm\.map as=[1-9]/), first(/ vm\.unmap /), first(/ pt\.free /),
  seqOf(events[events.length >> 1]), LAST].filter((n) => n !== null))];

// --- a tiny TAP harness --------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const html = path.join(OUT, "view.html");
  vtrace("view", TRACE, "-o", html);
  const b = await launch();
  const ctx = { b, html };
  let n = 0, failed = 0;
  for (const t of tests) {
    if (ONLY.length && !ONLY.some((o) => t.name.includes(o))) continue;
    n++;
    try {
      await t.fn(ctx);
      console.log(`ok ${n} - ${t.name}`);
    } catch (e) {
      failed++;
      for (const l of String(e && e.stack || e).split("\n").slice(0, 14)) console.log("# " + l);
      console.log(`not ok ${n} - ${t.name}`);
    }
  }
  await b.close();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

// The page at event seq, reached through the event box as a student would.
async function scrubTo(page, seq) {
  await page.fill("#seq", String(seq));
  await page.dispatchEvent("#seq", "change");
  await page.waitForFunction((s) => document.body.dataset.at === String(s), seq);
}

async function opened(ctx, file) {
  const { page, errors } = await open(ctx.b.context, file || ctx.html);
  ctx.errors = errors;
  return page;
}

// What the memory panel shows: its segments merged back into bitmap runs.
async function shownBitmap(page, pane) {
  const segs = await page.$$eval(`#panes > .pane:nth-child(${pane || 1}) .seg`, (all) =>
    all.map((d) => [Number(d.dataset.first), Number(d.dataset.pages), d.dataset.reason]));
  const runs = [];
  for (const [a, n, r] of segs) {
    const l = runs[runs.length - 1];
    if (l && l[2] === r && l[0] + l[1] === a) l[1] += n; else runs.push([a, n, r]);
  }
  return runs;
}

const shownMappings = (page, pane) => page.$$eval(`#panes > .pane:nth-child(${pane || 1}) .maplist > div`,
  (all) => all.map((d) => d.textContent));

// --- the tests -------------------------------------------------------------------

test("the_page_has_no_external_reference_and_loads_nothing", async (ctx) => {
  const text = fs.readFileSync(ctx.html, "utf8");
  assert.deepStrictEqual(text.match(/https?:\/\/[^\s"'<>)]*/g), null, "a URL in the page");
  assert.ok(!/<(script|link|img|iframe)[^>]+(src|href)=/i.test(text), "an element that loads a file");
  const page = await opened(ctx);
  assert.deepStrictEqual(ctx.b.requests, [], "network requests");
  assert.deepStrictEqual(ctx.errors, [], "script errors");
  await page.close();
});

test("the_page_opens_on_the_last_event_with_the_event_list_and_tables", async (ctx) => {
  const page = await opened(ctx);
  assert.strictEqual(await page.getAttribute("body", "data-at"), String(LAST));
  const rows = await page.$$eval(".events .row-e", (r) => r.map((x) => x.textContent));
  assert.ok(rows.length > 5, `only ${rows.length} rows shown`);
  assert.ok(rows.some((r) => r.startsWith(String(LAST))), "the last event is in the list");
  const tree = await page.textContent("#tree");
  assert.match(tree, /as 0: PML4 0x[0-9a-f]+/);
  await page.screenshot({ path: path.join(OUT, "view-end.png"), fullPage: true });
  assert.deepStrictEqual(ctx.errors, []);
  await page.close();
});

test("each_scrubbed_event_shows_the_mappings_and_pages_of_vtrace_state", async (ctx) => {
  const want = JSON.parse(python([path.join(__dirname, "expect.py"), TRACE, ...PICKS.map(String)]));
  const page = await opened(ctx);
  for (const seq of PICKS) {
    await scrubTo(page, seq);
    const w = want.states[seq];
    assert.deepStrictEqual(await shownMappings(page), w.mappings, `mappings at event ${seq}`);
    assert.deepStrictEqual(await shownBitmap(page), w.bitmap, `bitmap at event ${seq}`);
    if (w.bitmap.length) assert.match(await page.textContent("#panes .counters"), new RegExp(` ${w.free} free`));
  }
  assert.ok(PICKS.length >= 5, `events picked: ${PICKS}`);
  assert.deepStrictEqual(ctx.errors, []);
  await page.close();
});

test("stepping_backwards_gives_the_same_state_as_jumping", async (ctx) => {
  const seq = first(/ pt\.free /) || LAST;
  const want = JSON.parse(python([path.join(__dirname, "expect.py"), TRACE, String(seq - 1)]));
  const page = await opened(ctx);
  await scrubTo(page, seq);
  await page.click("#prev");
  await page.waitForFunction((s) => document.body.dataset.at === String(s), seq - 1);
  assert.deepStrictEqual(await shownMappings(page), want.states[seq - 1].mappings);
  assert.deepStrictEqual(await shownBitmap(page), want.states[seq - 1].bitmap);
  await page.close();
});

test("the_keyboard_steps_and_jumps_to_either_end", async (ctx) => {
  const page = await opened(ctx);
  const at = () => page.getAttribute("body", "data-at");
  await page.keyboard.press("Home");
  assert.strictEqual(await at(), String(seqOf(events[0])));
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.strictEqual(await at(), String(seqOf(events[2])));
  await page.keyboard.press("ArrowLeft");
  assert.strictEqual(await at(), String(seqOf(events[1])));
  await page.keyboard.press("End");
  assert.strictEqual(await at(), String(LAST));
  await page.close();
});

test("a_category_filter_hides_its_events_and_the_steps_skip_them", async (ctx) => {
  const page = await opened(ctx);
  await page.uncheck('#cats input[data-cat="pt"]');
  await page.uncheck('#cats input[data-cat="ptp"]');
  // The list redraws after the filter's change event: wait for it (bounded).
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll(".events .row-e b")].map((x) => x.textContent.trim());
    return r.length > 5 && !r.some((x) => x.startsWith("pt.") || x.startsWith("ptp."));
  }, null, { timeout: 10000 }).catch(() => {});
  const names = await page.$$eval(".events .row-e b", (r) => r.map((x) => x.textContent.trim()));
  assert.ok(names.length > 5);
  assert.ok(!names.some((x) => x.startsWith("pt.") || x.startsWith("ptp.")), names.join(","));
  const cr3 = first(/ tlb\.cr3 /);
  const before = events.findIndex((l) => seqOf(l) === cr3);
  const prior = events.slice(0, before).filter((l) => !/^\d+ ptp?\./.test(l)).pop();
  await scrubTo(page, cr3);
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press("ArrowLeft");
  assert.strictEqual(await page.getAttribute("body", "data-at"), String(seqOf(prior)));
  await page.close();
});

test("search_finds_events_by_name_and_by_address", async (ctx) => {
  const page = await opened(ctx);
  await page.fill("#search", "tlb.cr3");
  const cr3s = events.filter((l) => l.includes("tlb.cr3")).length;
  assert.strictEqual(await page.textContent("#search-count"), `${cr3s} match(es)`);
  await page.keyboard.press("Home");
  await page.focus("#search");
  await page.keyboard.press("Enter");
  assert.strictEqual(await page.getAttribute("body", "data-at"), String(first(/ tlb\.cr3 /)));
  // An address inside a run: the event mapping it matches though the text differs.
  const map = events.find((l) => / vm\.map .* n=([2-9]|\d\d+) /.test(l));
  const va = BigInt(map.match(/ va=(0x[0-9a-f]+)/)[1]) + 0x1000n;
  await page.fill("#search", "0x" + va.toString(16));
  await page.focus("#search");
  await page.keyboard.press("Home");
  const hits = await page.$$eval(".events .row-e.match", (r) => r.map((x) => x.dataset.i));
  const count = Number((await page.textContent("#search-count")).split(" ")[0]);
  assert.ok(count >= 1, "no match for an address inside a mapped run");
  await page.evaluate(() => window.vitrine.goto(0));
  await page.click("#search-next");
  const at = Number(await page.getAttribute("body", "data-at"));
  assert.ok(at <= seqOf(map), `the first hit ${at} comes after the vm.map ${seqOf(map)}`);
  assert.ok(hits !== null);
  await page.close();
});

test("the_selected_event_shows_its_doc_entry_and_debug_command", async (ctx) => {
  const page = await opened(ctx);
  const seq = first(/ vm\.map /);
  await scrubTo(page, seq);
  const detail = await page.textContent("#panes .detail");
  assert.match(detail, new RegExp(`make debug (CMDLINE="[^"]*" )?BREAK=${seq}(?!\\d)`));
  assert.match(detail, /vm\.map \(as va pa n size flags pte\)/);
  const href = await page.getAttribute("#panes .detail a.doclink", "href");
  assert.ok(fs.existsSync(path.resolve(OUT, href.split("#")[0])), `doc link ${href}`);
  await page.screenshot({ path: path.join(OUT, "view-map.png"), fullPage: true });
  await page.close();
});

test("translate_walks_a_mapped_va_and_stops_at_an_absent_entry", async (ctx) => {
  const page = await opened(ctx);
  const seq = first(/ vm\.map as=0 .*size=4K/);
  await scrubTo(page, seq);
  const state = vtrace("state", TRACE, "--at", String(seq)).split("\n");
  const run = state.find((l) => /^  0x[0-9a-f]{16}-0x[0-9a-f]+ -> /.test(l));
  const [, va, pa] = run.match(/^  (0x[0-9a-f]+)-0x[0-9a-f]+ -> (0x[0-9a-f]+)-/);
  await page.fill("#va", "0x" + (BigInt(va) + 0x123n).toString(16));
  await page.click("#translate-form button");
  const walkText = await page.textContent("#walk");
  assert.match(walkText, new RegExp(`=> physical 0x${(BigInt(pa) + 0x123n).toString(16)}\\b`), walkText);
  assert.match(walkText, /PML4 0x[0-9a-f]+ entry \d+ -> PDPT/);
  const user = first(/ vm\.map as=[1-9]/);
  if (user) { // a user space shares the kernel half: the same walk from its PML4
    await scrubTo(page, user);
    await page.selectOption("#va-as", events.find((l) => seqOf(l) === user).match(/ as=(\d+)/)[1]);
    await page.click("#translate-form button");
    assert.match(await page.textContent("#walk"), new RegExp(`=> physical 0x${(BigInt(pa) + 0x123n).toString(16)}\\b`));
    await page.selectOption("#va-as", "0");
  }
  await page.fill("#va", "0x1000");
  await page.click("#translate-form button");
  assert.match(await page.textContent("#walk .stop"), /not present - the walk stops/);
  await page.fill("#va", "0x0000900000000000");
  await page.click("#translate-form button");
  assert.match(await page.textContent("#walk .stop"), /not canonical/);
  await page.close();
});

test("the_diff_of_two_events_counts_what_the_replay_changed", async (ctx) => {
  const page = await opened(ctx);
  const a = first(/ vm\.map /) - 1, b = first(/ pt\.free /) || LAST;
  const c = LAST;
  const want = JSON.parse(python([path.join(__dirname, "expect.py"), TRACE, "--diff", `${a}-${b}`, "--diff", `${b}-${c}`]));
  for (const [lo, hi] of [[a, b], [b, c]]) {
    await page.fill("#diff-a", String(lo));
    await page.fill("#diff-b", String(hi));
    await page.click("#diff-form button");
    const got = await page.$$eval("#diff .diff-part", (parts) => Object.fromEntries(parts.map((p) => {
      const pages = [...p.querySelectorAll("li")].map((li) => (li.textContent.match(/ (\d+) page\(s\)/) || [0, 1])[1]);
      return [p.dataset.kind, { items: p.querySelectorAll("li").length, pages: pages.reduce((x, y) => x + Number(y), 0) }];
    })));
    const w = want.diffs[`${lo}-${hi}`];
    for (const k of ["mapped", "unmapped", "allocated", "freed"]) {
      assert.strictEqual(got[k].pages, w[k], `${k} pages from ${lo} to ${hi}: ${JSON.stringify(got)} vs ${JSON.stringify(w)}`);
    }
    assert.strictEqual(got.changed.items, w.changed > 0 ? got.changed.items : 0);
  }
  await page.screenshot({ path: path.join(OUT, "view-diff.png"), fullPage: true });
  await page.close();
});

test("compare_marks_the_first_divergence_of_a_mutated_trace", async (ctx) => {
  // The mutated trace: one vm.map of the demo maps one page more.
  const target = events.find((l) => / vm\.map .* n=\d+ size=4K/.test(l) && seqOf(l) > (first(/ tlb\.cr3 /) || 0));
  const mutated = lines.map((l) => (l === target ? l.replace(/ n=(\d+) /, (m, n) => ` n=${Number(n) + 1} `) : l));
  const file = path.join(OUT, "mutated.log");
  fs.writeFileSync(file, mutated.join("\n"));
  let diff = "";
  try { vtrace("diff", TRACE, file); } catch (e) { diff = e.stdout.toString(); }
  const line = Number(diff.match(/first divergence at line (\d+)/)[1]);
  const html = path.join(OUT, "compare.html");
  vtrace("view", TRACE, "--compare", file, "-o", html);
  const page = await opened(ctx, html);
  const banner = await page.textContent("#compare-banner");
  assert.match(banner, new RegExp(`line ${line}, event ${seqOf(target)} - same event vm\\.map`), banner);
  await page.keyboard.press("Home");
  await page.click("#jump-divergence");
  assert.strictEqual(await page.getAttribute("body", "data-at"), String(seqOf(target)));
  assert.strictEqual(await page.$$eval(".events .row-e.diverge", (r) => r.length), 2);
  const [a, b] = [await shownMappings(page, 1), await shownMappings(page, 2)];
  assert.notDeepStrictEqual(a, b, "the two sides show the same mappings after the divergence");
  await page.screenshot({ path: path.join(OUT, "view-compare.png"), fullPage: true });
  assert.deepStrictEqual(ctx.errors, []);
  await page.close();
});

test("a_trace_without_events_or_without_a_bitmap_opens_without_errors", async (ctx) => {
  const script = "import sys; sys.path.insert(0, 'tests/trace'); import gen; " +
    `open(sys.argv[1], 'wb').write(gen.write([])); ` +
    "open(sys.argv[2], 'wb').write(gen.write([e for e in gen.clean_events() " +
    "if not e.startswith(('pmm', 'stat.pmm'))], cats='boot,cpu,ptp,pt,vm,tlb,test,err,warn'))";
  const empty = path.join(OUT, "empty.log"), nopmm = path.join(OUT, "nopmm.log");
  python(["-c", script, empty, nopmm]);
  for (const [file, at, text] of [[empty, "0", "0 events"], [nopmm, "36", "No bitmap yet"]]) {
    const html = file.replace(/\.log$/, ".html");
    vtrace("view", file, "-o", html);
    const page = await opened(ctx, html);
    assert.strictEqual(await page.getAttribute("body", "data-at"), at, file);
    assert.ok((await page.textContent("body")).includes(text), `${file}: no "${text}"`);
    assert.deepStrictEqual(ctx.errors, [], file);
    await page.close();
  }
});

main().catch((e) => { console.error(e); console.log("not ok 1 - the_browser_starts"); process.exit(1); });
