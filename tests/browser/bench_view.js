#!/usr/bin/env node
// bench_view - how fast a `vtrace view` page opens and redraws, in headless
// Chromium (`make bench`, bench/run; docs/performance.md). Not a test: it
// asserts no time.
//
//   node tests/browser/bench_view.js PAGE.html [JUMPS]
//
// Prints one JSON object: open_ms (navigation to the first drawn state,
// as the page's own clock measures it, and as seen from outside), read_ms
// (of which: the browser reading the file),
// jump_ms (median and max of JUMPS jumps to random events: the redraw of
// every panel, layout included, until the next frame).
"use strict";
const { launch, open } = require("./browser.js");

async function main() {
  const file = process.argv[2], jumps = Number(process.argv[3] || 30);
  const b = await launch();
  const started = Date.now();
  const { page, errors } = await open(b.context, file);
  const outside = Date.now() - started;
  const inside = await page.evaluate(() => window.vitrine.readyAt);
  const read = await page.evaluate(() => performance.getEntriesByType("navigation")[0].responseEnd);
  const events = await page.evaluate(() => window.vitrine.n);
  const times = [];
  let seed = 12345;
  for (let k = 0; k < jumps; k++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const i = seed % events;
    times.push(await page.evaluate((i) => new Promise((done) => {
      const t0 = performance.now();
      window.vitrine.goto(i);
      void document.body.offsetHeight;
      requestAnimationFrame(() => done(performance.now() - t0));
    }), i));
  }
  times.sort((x, y) => x - y);
  await b.close();
  const r = (x) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({ events, open_ms: r(inside), read_ms: r(read), open_ms_outside: outside,
    jumps, jump_ms_median: r(times[times.length >> 1]), jump_ms_max: r(times[times.length - 1]),
    errors }));
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
