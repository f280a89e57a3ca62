// Shared setup for the browser tests: Debian's Chromium, a server started by run.sh, and
// watchers that fail a test on console errors or failed requests.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

// ---- signing in ------------------------------------------------------------------------

export const PASSWORD = process.env.E2E_PASSWORD;
export const ADMIN = "admin@e2e.test";
/// The admin's TOTP secret, shared by the test files of this run (whichever runs first enrols).
export const SECRET_FILE = join(tmpdir(), `frontdesk-e2e-${new URL(BASE_URL).port}-admin-totp`);

function base32decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const ch of text.replace(/[=\s]/g, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

/// The code an authenticator app shows for 30-second step `step` (RFC 6238: SHA-1, 6 digits).
export function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

/// A code the server has not accepted before: it takes each TOTP step once (RFC 6238 §5.2)
/// and allows one step of clock skew, so this uses the current or the next step not yet
/// used by this run (recorded per secret across test files), waiting when both are spent.
export async function freshTotp(secret) {
  const file = `${SECRET_FILE}-${secret.slice(0, 12)}.last-step`;
  for (;;) {
    const now = Math.floor(Date.now() / 30_000);
    const last = existsSync(file) ? Number(readFileSync(file, "utf8")) : 0;
    const step = Math.max(now, last + 1);
    if (step <= now + 1) {
      writeFileSync(file, String(step));
      return totpAt(secret, step);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function submitPassword(page, email, password) {
  await page.goto(BASE_URL + "/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// Sets up two-factor on the page shown; returns the secret and the recovery codes.
export async function enrol(page) {
  const secret = (await page.locator("#totp-secret").textContent()).trim();
  await page.getByLabel("6-digit code").fill(await freshTotp(secret));
  await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await page.locator("#recovery-codes").waitFor();
  const codes = (await page.locator("#recovery-codes li").allTextContents()).map((c) => c.trim());
  return { secret, codes };
}

/// Signs the admin in, enrolling two-factor if this is the first time. `onPage(name)` is
/// called on the enrolment and recovery-code pages when they are shown (accessibility checks).
export async function signInAdmin(page, { onPage = async () => {} } = {}) {
  await submitPassword(page, ADMIN, PASSWORD);
  await page.waitForURL(/\/(account\/two-factor|login\/code)/);
  if (page.url().includes("/account/two-factor")) {
    await onPage("two-factor enrolment");
    const { secret } = await enrol(page);
    await onPage("recovery codes");
    writeFileSync(SECRET_FILE, secret);
    await page.getByRole("link", { name: "Continue to the inbox" }).click();
  } else {
    assert.ok(existsSync(SECRET_FILE), "the admin was enrolled by another test file");
    await page.getByLabel("Code", { exact: true }).fill(await freshTotp(readFileSync(SECRET_FILE, "utf8").trim()));
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await page.waitForURL(BASE_URL + "/");
}

export async function signInStaff(page) {
  await submitPassword(page, "staff@e2e.test", PASSWORD);
  await page.waitForURL(BASE_URL + "/");
}
