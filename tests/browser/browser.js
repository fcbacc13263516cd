// browser.js - Debian's Chromium, headless, through playwright-core (no
// browser download): the launch every browser test and the bench share.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.VITRINE_CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// A fresh profile each launch; the page may load nothing from the network.
async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "vitrine-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS,
    viewport: { width: 1600, height: 1000 } });
  const requests = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (!url.startsWith("file:") && !url.startsWith("data:")) requests.push(url);
    return url.startsWith("file:") || url.startsWith("data:") ? route.continue() : route.abort();
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, requests, close };
}

// Opens file in a new page; throws on a script error.
async function open(context, file) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto("file://" + path.resolve(file));
  await page.waitForSelector("body[data-at]", { timeout: 20000 });
  return { page, errors };
}

module.exports = { launch, open };
