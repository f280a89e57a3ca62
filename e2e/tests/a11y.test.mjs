// Accessibility of every page a person uses, checked with axe-core at phone and desktop sizes:
// no violation of impact "serious" or "critical" (lesser ones are printed). Also keeps the
// admin departments page's screenshot current.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, checkA11y, launch, openPage, patientNumber, screenshot } from "./support.mjs";

// ---- signing in (the same helper is in admin.test.mjs and auth.test.mjs) ----
const PASSWORD = process.env.E2E_PASSWORD;
const ADMIN = "admin@e2e.test";
// The admin's TOTP secret, shared by the test files of this run (whichever runs first enrols).
const SECRET_FILE = join(tmpdir(), `frontdesk-e2e-${new URL(BASE_URL).port}-admin-totp`);

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

/// The code an authenticator app shows now (RFC 6238: SHA-1, 30 s, 6 digits).
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", base32decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

async function submitPassword(page, email, password) {
  await page.goto(BASE_URL + "/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// Signs the admin in, enrolling two-factor if this is the first time (checking the
/// enrolment page and the recovery codes page on the way).
async function signInAdmin(page, vpName) {
  await submitPassword(page, ADMIN, PASSWORD);
  await page.waitForURL(/\/(account\/two-factor|login\/code)/);
  if (page.url().includes("/account/two-factor")) {
    await checkA11y(page, `two-factor enrolment (${vpName})`);
    const secret = (await page.locator("#totp-secret").textContent()).trim();
    await page.getByLabel("6-digit code").fill(totp(secret));
    await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    await page.locator("#recovery-codes").waitFor();
    await checkA11y(page, `recovery codes (${vpName})`);
    writeFileSync(SECRET_FILE, secret);
    await page.getByRole("link", { name: "Continue to the inbox" }).click();
  } else {
    assert.ok(existsSync(SECRET_FILE), "the admin was enrolled by another test file");
    await page.getByLabel("Code", { exact: true }).fill(totp(readFileSync(SECRET_FILE, "utf8").trim()));
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await page.waitForURL(BASE_URL + "/");
}

async function signInStaff(page) {
  await submitPassword(page, "staff@e2e.test", PASSWORD);
  await page.waitForURL(BASE_URL + "/");
}

/// A patient's text through the simulator's own endpoint (what its page posts).
async function patientTexts(from, body) {
  const r = await fetch(BASE_URL + "/simulator/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from, body }),
  });
  assert.ok(r.ok, `simulator send answered ${r.status}`);
  return r.json();
}

/// Opens a page and waits until it has settled (scripts run, live feeds connected).
async function visit(page, path) {
  const response = await page.goto(BASE_URL + path);
  assert.ok(response.ok(), `${path} answered ${response.status()}`);
  await page.waitForLoadState("load");
  await page.waitForTimeout(300);
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

VIEWPORTS.forEach((vp, index) => {
  describe(`accessibility, signed out (${vp.name})`, () => {
    let context, page;
    before(async () => { ({ context, page } = await openPage(browser, vp)); });
    after(async () => { await context?.close(); });

    test("/login", async () => {
      await visit(page, "/login");
      await checkA11y(page, `/login (${vp.name})`);
    });

    test("/login after a wrong password", async () => {
      await submitPassword(page, "staff@e2e.test", "not the right password");
      await page.getByRole("alert").waitFor();
      await checkA11y(page, `/login with an error (${vp.name})`);
    });

    test("/simulator", async () => {
      await visit(page, "/simulator");
      await page.locator("#status-line").filter({ hasText: "Connected as" }).waitFor();
      await checkA11y(page, `/simulator (${vp.name})`);
    });
  });

  describe(`accessibility, admin (${vp.name})`, () => {
    let context, page;
    before(async () => {
      ({ context, page } = await openPage(browser, vp));
      await signInAdmin(page, vp.name);
    });
    after(async () => { await context?.close(); });

    for (const path of ["/admin", "/admin/users", "/admin/departments", "/admin/numbers", "/admin/templates", "/admin/settings", "/account/two-factor"]) {
      test(path, async () => {
        await visit(page, path);
        await checkA11y(page, `${path} (${vp.name})`);
        if (path === "/admin/departments") await screenshot(page, `admin-departments-${vp.name}`);
      });
    }

    test("/admin/users/{id}", async () => {
      await visit(page, "/admin/users");
      await page.locator("#users a").first().click();
      await page.waitForURL(/\/admin\/users\/[0-9a-f-]+/);
      await checkA11y(page, `/admin/users/{id} (${vp.name})`);
    });

    test("/admin/departments with a refused name", async () => {
      await visit(page, "/admin/departments");
      const name = `Front desk ${vp.name}`;
      await page.getByLabel("Name", { exact: true }).fill(name);
      await page.getByRole("button", { name: "Add department" }).click();
      await page.waitForURL(/done=added/);
      await page.getByLabel("Name", { exact: true }).fill(name.toUpperCase());
      await page.getByRole("button", { name: "Add department" }).click();
      await page.getByRole("alert").waitFor();
      await checkA11y(page, `/admin/departments with an error (${vp.name})`);
    });
  });

  describe(`accessibility, second factor (${vp.name})`, () => {
    let context, page;
    before(async () => { ({ context, page } = await openPage(browser, vp)); });
    after(async () => { await context?.close(); });

    test("/login/code", async () => {
      // The admin is enrolled by now (above), so the password leads to the code page.
      await submitPassword(page, ADMIN, PASSWORD);
      await page.waitForURL(/\/login\/code/);
      await checkA11y(page, `/login/code (${vp.name})`);
    });
  });


  describe(`accessibility, staff (${vp.name})`, () => {
    const me = patientNumber(700 + index * 10);
    let context, page, conversation;
    before(async () => {
      ({ context, page } = await openPage(browser, vp));
      await signInStaff(page);
      const sent = await patientTexts(me.e164, "Hello, can I move my appointment to Friday?");
      conversation = sent.conversation_id;
      assert.ok(conversation, "the text opened a conversation");
    });
    after(async () => { await context?.close(); });

    test("inbox", async () => {
      await visit(page, "/?view=all");
      await checkA11y(page, `inbox (${vp.name})`);
    });

    test("conversation", async () => {
      await visit(page, `/c/${conversation}`);
      await checkA11y(page, `conversation (${vp.name})`);
    });

    test("/search", async () => {
      await visit(page, "/search?q=appointment");
      await checkA11y(page, `/search (${vp.name})`);
    });

    test("/new", async () => {
      await visit(page, "/new");
      await checkA11y(page, `/new (${vp.name})`);
    });
  });
});
