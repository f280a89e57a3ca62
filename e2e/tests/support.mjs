// Shared setup for the browser tests: Debian's Chromium, a server started by run.sh, and
// watchers that fail a test on console errors or failed requests.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const BASE_URL = process.env.FRONTDESK_URL;
export const TOKEN = process.env.FRONTDESK_TOKEN;
if (!BASE_URL || !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(BASE_URL)) {
  throw new Error("FRONTDESK_URL must be a loopback http://host:port; run the tests with e2e/run.sh");
}

// Kept in the repository (docs/screenshots, at its root) so the docs show the pages as they are.
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

export const VIEWPORTS = [
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: "desktop", viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/// A fresh browser context (own localStorage) with one page, and what went wrong on it.
export async function openPage(browser, vp) {
  const context = await browser.newContext({
    viewport: vp.viewport,
    isMobile: vp.isMobile,
    hasTouch: vp.hasTouch,
    deviceScaleFactor: vp.deviceScaleFactor,
  });
  const page = await context.newPage();
  const problems = { console: [], failed: [], dialogs: [], pageErrors: [] };
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.console.push(`${msg.text()} @ ${msg.location().url}`);
  });
  page.on("pageerror", (err) => problems.pageErrors.push(String(err)));
  page.on("requestfailed", (req) => {
    const why = req.failure()?.errorText ?? "";
    // The page's own EventSource is cut when the page is closed or navigates away; that is not a failure.
    if (req.url().includes("/simulator/events") && why === "net::ERR_ABORTED") return;
    problems.failed.push(`${req.method()} ${req.url()}: ${why}`);
  });
  page.on("dialog", async (dialog) => {
    problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss().catch(() => {});
  });
  return { context, page, problems };
}

export function assertClean(problems, { allowConsole = [] } = {}) {
  const consoleErrors = problems.console.filter((m) => !allowConsole.some((re) => re.test(m)));
  assert.deepEqual(consoleErrors, [], "console errors");
  assert.deepEqual(problems.pageErrors, [], "uncaught page errors");
  assert.deepEqual(problems.failed, [], "failed requests");
  assert.deepEqual(problems.dialogs, [], "dialogs");
}

/// The whole page, or with `{ fullPage: false }` only what fits on the screen.
export async function screenshot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/// The staff side, through the REST API with the token run.sh created.
export async function api(method, path, body) {
  const response = await fetch(BASE_URL + "/api/v1" + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/// A number of the fictional 555-01xx range no other test uses, in E.164 and as a person types it.
let next = 10;
export function patientNumber(offset) {
  const n = String(offset + next++).padStart(2, "0");
  return { typed: `(212) 555-01${n}`, e164: `+1212555 01${n}`.replace(" ", "") };
}

// ---- accessibility: axe-core ----

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const BLOCKING = new Set(["serious", "critical"]);

/// Runs axe-core on the page as it is now and fails on any violation of impact "serious" or
/// "critical"; the rest (moderate, minor) are printed. `name` labels the output.
///
/// axe is injected with `page.evaluate` of its source: the pages' CSP (`script-src 'self'`)
/// refuses `page.addScriptTag({ content })` in Chromium (an inline <script>, blocked and logged
/// as a console error), while DevTools evaluation is not subject to the page's CSP. So the CSP
/// stays in force (no `bypassCSP`) and the test sees the page as a person's browser does.
export async function checkA11y(page, name, { exclude = [] } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async (exclude) => {
    const context = exclude.length ? { include: [document], exclude: exclude.map((s) => [s]) } : document;
    const result = await window.axe.run(context, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
  }, exclude);
  const describe = (v) =>
    `${v.impact} ${v.id} (${v.help}):\n` + v.nodes.map((n) => `    ${n.target}\n      ${(n.summary || "").replace(/\n/g, "\n      ")}`).join("\n");
  const blocking = violations.filter((v) => BLOCKING.has(v.impact));
  const other = violations.filter((v) => !BLOCKING.has(v.impact));
  if (other.length) console.log(`axe ${name}: ${other.length} lesser finding(s)\n` + other.map(describe).join("\n"));
  if (!violations.length) console.log(`axe ${name}: no violations`);
  assert.deepEqual(blocking.map(describe), [], `axe ${name}: serious or critical violations`);
  return violations;
}
