// One conversation as staff work it when something is off: a text the carrier could not
// deliver (explained in plain words, live, and retried), templates in the composer, a patient
// who opted out (nothing can be sent), and the idle sign-out on a shared front-desk screen.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as support from "./support.mjs";

const { BASE_URL, VIEWPORTS, api, assertClean, checkA11y, launch, openPage, screenshot } = support;

const PASSWORD = process.env.E2E_PASSWORD;
const DESKTOP = VIEWPORTS.find((v) => v.name === "desktop");

// Numbers no other test file uses (212 is theirs; these are 646). The simulator makes a text to
// a number ending in 30003 reach "sent" and then come back undelivered with Twilio's 30003.
const UNREACHABLE = "+16465530003";
const TEMPLATES_PATIENT = "+16465550191";
const OPTED_OUT_PATIENT = "+16465550192";
// What errors.rs says about 30003.
const EXPLANATION_30003 = "The patient's phone could not be reached (it may be off or out of coverage).";

// ---- signing in (the same helper is in admin.test.mjs and auth.test.mjs) ----
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

async function submitPassword(page, email) {
  await page.goto(BASE_URL + "/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// Signs the admin in, enrolling two-factor if this is the first time in this run. The server
/// takes each TOTP step once (and one step of skew), so the files of a run share the last step
/// used, in a file next to the secret; support.mjs's helper does the same when it has one.
async function localSignInAdmin(page) {
  await submitPassword(page, ADMIN);
  await page.waitForURL(/\/(account\/two-factor|login\/code)/);
  if (page.url().includes("/account/two-factor")) {
    const secret = (await page.locator("#totp-secret").textContent()).trim();
    await page.getByLabel("6-digit code").fill(await freshTotp(secret));
    await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    await page.locator("#recovery-codes").waitFor();
    writeFileSync(SECRET_FILE, secret);
    await page.getByRole("link", { name: "Continue to the inbox" }).click();
  } else {
    assert.ok(existsSync(SECRET_FILE), "the admin was enrolled by another test file");
    await page.getByLabel("Code", { exact: true }).fill(await freshTotp(readFileSync(SECRET_FILE, "utf8").trim()));
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await page.waitForURL(BASE_URL + "/", { timeout: 10000 }).catch(async (e) => {
    const said = await page.locator("main").innerText().catch(() => "");
    throw new Error(`the admin's sign-in stopped at ${page.url()}: ${said}`, { cause: e });
  });
}

/// A code of the current or next step that no file of this run has used yet.
async function freshTotp(secret) {
  const file = `${SECRET_FILE}-${secret.slice(0, 12)}.last-step`;
  for (;;) {
    const now = Math.floor(Date.now() / 30_000);
    const last = existsSync(file) ? Number(readFileSync(file, "utf8")) : 0;
    const step = Math.max(now, last + 1);
    if (step <= now + 1) {
      writeFileSync(file, String(step));
      return totp(secret, step * 30_000);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const signInAdmin = support.signInAdmin ?? localSignInAdmin;

async function signInStaff(page) {
  await submitPassword(page, "staff@e2e.test");
  await page.waitForURL(BASE_URL + "/");
}

/// A patient's text through the simulator's own endpoint (what its page posts).
async function patientTexts(from, body) {
  const r = await fetch(BASE_URL + "/simulator/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from, body }),
  });
  assert.ok(r.ok, `simulator send answered ${r.status}: ${await r.clone().text()}`);
  return r.json();
}

/// Opens a conversation and waits for its live feed to be connected (so later changes arrive).
async function openConversation(page, id) {
  const live = page.waitForResponse((r) => new URL(r.url()).pathname === "/events" && r.ok());
  await page.goto(`${BASE_URL}/c/${id}`);
  await page.locator("#thread").waitFor();
  await live;
}

// The live feed (and an estimate or a thread refresh in flight) is cut when a page navigates;
// that is not a failure.
function clean(problems, allowConsole = []) {
  problems.failed = problems.failed.filter((f) => !(/\/(events|compose\/check|c\/[0-9a-f-]+\/thread)\S*: net::ERR_ABORTED$/.test(f)));
  assertClean(problems, { allowConsole });
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe("conversation", () => {
  test("an undelivered reply is explained live, and Retry sends it once more", async () => {
    const { context, page: watcher, problems } = await openPage(browser, DESKTOP);
    try {
      const { conversation_id: id } = await patientTexts(UNREACHABLE, "Is my appointment still on for Friday?");
      assert.ok(id, "the text opened a conversation");
      await signInStaff(watcher);
      // One tab watches the conversation; the reply is typed in another, as a colleague would.
      await openConversation(watcher, id);
      await watcher.evaluate(() => { window.__notReloaded = true; });

      const body = `Yes, Friday at 10. Please call us to confirm. ${Date.now()}`;
      const sender = await context.newPage();
      await sender.goto(`${BASE_URL}/c/${id}`);
      await sender.getByLabel("Reply to patient").fill(body);
      await sender.getByRole("button", { name: "Send", exact: true }).click();
      await sender.waitForURL(`${BASE_URL}/c/${id}`);
      await sender.close();

      const failed = watcher.locator("#thread li.outbound").filter({ hasText: body });
      await failed.waitFor({ timeout: 10000 });
      await failed.locator(".msg-status").filter({ hasText: /^(failed|undelivered)$/ }).waitFor({ timeout: 10000 });
      await failed.locator(".delivery-error").filter({ hasText: EXPLANATION_30003 }).waitFor();
      assert.match(await failed.locator(".delivery-error").innerText(), /^Not delivered\./);
      assert.ok(await watcher.evaluate(() => window.__notReloaded === true), "the failure arrived without a reload");
      assert.match(await watcher.locator("#thread-announce").textContent(), /Message (failed|undelivered)\./);
      const failedId = await failed.getAttribute("data-message-id");
      const failedStatus = await failed.getAttribute("data-status");

      await screenshot(watcher, "conversation-failed-desktop");
      await checkA11y(watcher, "conversation with an undelivered text");

      // Retry: exactly one new outbound text with the same words; the failed one stays as it was.
      const outboundBefore = await watcher.locator("#thread li.outbound").count();
      const sameBefore = await watcher.locator("#thread li.outbound").filter({ hasText: body }).count();
      assert.equal(sameBefore, 1);
      await failed.getByRole("button", { name: "Retry" }).click();
      await watcher.waitForURL(`${BASE_URL}/c/${id}#thread`);
      const copies = watcher.locator("#thread li.outbound").filter({ hasText: body });
      const retried = copies.and(watcher.locator(`li:not(#m-${failedId})`));
      await retried.waitFor();
      // It goes to the same unreachable phone, so it fails too; that is the carrier, not us.
      await retried.locator(".msg-status").filter({ hasText: /^(failed|undelivered)$/ }).waitFor({ timeout: 10000 });
      await retried.locator(".delivery-error").filter({ hasText: EXPLANATION_30003 }).waitFor();
      await watcher.waitForTimeout(1000); // nothing else should trickle in
      await watcher.reload();
      assert.equal(await watcher.locator("#thread li.outbound").count(), outboundBefore + 1, "one new outbound text");
      assert.equal(await copies.count(), 2, "the retry has the same text");
      const original = watcher.locator(`#m-${failedId}`);
      assert.equal(await original.getAttribute("data-status"), failedStatus);
      assert.match(await original.locator(".delivery-error").innerText(), /could not be reached/);
      assert.equal(await original.locator(".body").innerText(), body);

      // The API agrees: two outbound texts with these words, both undelivered with the explanation.
      const detail = await api("GET", `/conversations/${id}`);
      const mine = detail.messages.filter((m) => m.direction === "outbound" && m.body === body);
      assert.equal(mine.length, 2);
      for (const m of mine) {
        assert.equal(m.error_code, "30003");
        assert.ok(m.error_message.startsWith(EXPLANATION_30003), m.error_message);
      }
      clean(problems);
    } finally {
      await context.close();
    }
  });

  test("templates: picked from the list, or with / and the keyboard, filled in with the practice name", async () => {
    const stamp = Date.now();
    // Names with first letters no other template has, so type-ahead in the list finds them.
    const plain = { name: `Xylo parking ${stamp}`, text: "Parking is free in the lot behind the building." };
    const named = { name: `Qwerty hours ${stamp}`, text: "Thanks for texting {practice.name}. We answer texts during office hours." };
    let practice;
    {
      const { context, page, problems } = await openPage(browser, DESKTOP);
      try {
        await signInAdmin(page);
        practice = (await page.locator(".topbar .brand").textContent()).trim();
        for (const t of [plain, named]) {
          await page.goto(BASE_URL + "/admin/templates");
          await page.getByLabel("Name").fill(t.name);
          await page.getByLabel("Text").fill(t.text);
          await page.getByRole("button", { name: "Add template" }).click();
          await page.waitForURL(/done=saved/);
          await page.locator("#templates li", { hasText: t.name }).waitFor();
        }
        clean(problems);
      } finally {
        await context.close();
      }
    }
    assert.ok(practice, "the practice has a name");
    const rendered = named.text.replace("{practice.name}", practice);

    const { conversation_id: id } = await patientTexts(TEMPLATES_PATIENT, "Where do I park?");
    const { context, page, problems } = await openPage(browser, DESKTOP);
    try {
      await signInStaff(page);
      await openConversation(page, id);
      const reply = page.getByLabel("Reply to patient");
      const picker = page.getByLabel("Template");
      assert.equal(await page.locator("#template-apply").isHidden(), true, "no Insert button when the script runs");

      // From the list.
      await picker.selectOption({ label: named.name });
      await page.waitForFunction((want) => document.getElementById("reply").value === want, rendered);
      assert.ok(rendered.includes(practice) && !rendered.includes("{"), rendered);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "reply", "the reply has the focus");
      assert.equal(await picker.inputValue(), "", "the list is ready for another pick");
      await page.locator("#compose-meter").filter({ hasText: /segment/ }).waitFor();
      await page.getByRole("button", { name: "Send", exact: true }).click();
      await page.waitForURL(`${BASE_URL}/c/${id}`);
      const sent = page.locator("#thread li.outbound").filter({ hasText: rendered });
      await sent.waitFor();
      await sent.locator(".msg-status").filter({ hasText: "delivered" }).waitFor({ timeout: 10000 });

      // "/" in the empty reply jumps to the list; a letter picks the template, Enter is not needed.
      assert.equal(await reply.inputValue(), "");
      await reply.focus();
      await page.keyboard.press("/");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "template", "/ moved the focus to the list");
      assert.equal(await reply.inputValue(), "", "the / itself is not typed");
      await page.keyboard.press("X");
      await page.waitForFunction((want) => document.getElementById("reply").value === want, plain.text);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "reply");
      // "/" in a reply that has text is just a character.
      await page.keyboard.press("End");
      await page.keyboard.type(" 9/10");
      assert.equal(await reply.inputValue(), plain.text + " 9/10");
      await page.getByRole("button", { name: "Send", exact: true }).click();
      await page.waitForURL(`${BASE_URL}/c/${id}`);
      await page.locator("#thread li.outbound").filter({ hasText: plain.text + " 9/10" }).locator(".msg-status")
        .filter({ hasText: "delivered" }).waitFor({ timeout: 10000 });
      clean(problems);
    } finally {
      await context.close();
    }
  });

  test("a patient who texted STOP: the reason is shown, nothing can be sent, a forced send is refused", async () => {
    const first = await patientTexts(OPTED_OUT_PATIENT, "Hi, a question about my bill");
    const id = first.conversation_id;
    assert.equal((await api("GET", `/conversations/${id}`)).contact.opted_out, false, "not opted out before STOP");
    await patientTexts(OPTED_OUT_PATIENT, "STOP");
    const { context, page, problems } = await openPage(browser, DESKTOP);
    try {
      await signInStaff(page);
      await openConversation(page, id);
      const notice = page.locator(".composer-box .notice.opted-out");
      await notice.waitFor();
      assert.match(await notice.innerText(), /Sending is off.*opted out.*STOP/s);
      assert.match(await page.locator(".side-panel .consent").innerText(), /Opted out/);
      // The STOP itself is in the thread, after it the practice's one confirmation.
      const entries = page.locator("#thread li.entry");
      const texts = await entries.allInnerTexts();
      const stopAt = texts.findIndex((t) => /\bSTOP$/.test(t.trim()));
      assert.ok(stopAt >= 0, "the STOP is shown");
      assert.match(texts[stopAt + 1] ?? "", /unsubscribed/, "the confirmation follows the STOP");
      const reply = page.getByLabel("Reply to patient");
      assert.equal(await reply.isDisabled(), true, "the reply box is disabled");
      assert.match(await page.locator("#opted-out-reason").textContent(), /opted out/);
      assert.equal(await reply.getAttribute("aria-describedby"), "opted-out-reason");
      const send = page.locator("#send");
      assert.ok((await send.count()) === 0 || (await send.isDisabled()), "no way to send");
      assert.equal(await page.locator("#template").count(), 0, "no template list");
      assert.equal(await page.locator("#send-form").count(), 0, "no secure form to send");
      assert.equal(await page.locator(".retry-form").count(), 0, "nothing to retry");

      await screenshot(page, "conversation-opted-out-desktop");
      await checkA11y(page, "opted-out conversation");

      // Around the disabled button: the server refuses too.
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute("content");
      assert.ok(csrf, "the page carries a CSRF token");
      const forced = await page.request.post(`${BASE_URL}/c/${id}/reply`, {
        form: { _csrf: csrf, body: "Forced past the disabled button" },
        maxRedirects: 0,
      });
      assert.equal(forced.status(), 409, await forced.text());
      assert.match(await forced.text(), /opted out/i);
      const detail = await api("GET", `/conversations/${id}`);
      assert.equal(detail.messages.filter((m) => m.body.includes("Forced past")).length, 0, "nothing was queued");
      await page.reload();
      assert.equal(await page.locator("#thread li").filter({ hasText: "Forced past" }).count(), 0);
      clean(problems);
    } finally {
      await context.close();
    }
  });

  test("after the idle time the inbox signs out, and the old session cookie is dead", async () => {
    const { context, page, problems } = await openPage(browser, DESKTOP);
    try {
      await page.clock.install();
      await signInStaff(page);
      await page.locator("#live-state").filter({ hasText: /^Live$/ }).waitFor();
      const minutes = Number(await page.locator('meta[name="idle-minutes"]').getAttribute("content"));
      assert.ok(minutes > 0, `idle-minutes is ${minutes}`);
      const cookies = await context.cookies(BASE_URL);
      assert.ok(cookies.length > 0, "signed in with a cookie");

      // Just short of the limit nothing happens.
      await page.clock.runFor((minutes * 60 - 5) * 1000);
      await page.waitForTimeout(300);
      assert.equal(new URL(page.url()).pathname, "/");
      // Activity resets the timer...
      await page.mouse.move(10, 10);
      await page.mouse.down();
      await page.mouse.up();
      await page.clock.runFor(30 * 1000);
      await page.waitForTimeout(300);
      assert.equal(new URL(page.url()).pathname, "/", "activity kept the session");
      // ...and a full idle period signs out.
      await page.clock.fastForward(`${minutes + 1}:00`);
      await page.waitForURL(/\/login\?expired=1$/);
      const notice = page.getByRole("status").filter({ hasText: /signed out after/ });
      await notice.waitFor();
      assert.match(await notice.innerText(), new RegExp(`signed out after ${minutes} minutes? without activity`));

      // The cookie the browser had before is no longer a session.
      await context.clearCookies();
      await context.addCookies(cookies);
      const response = await page.goto(BASE_URL + "/");
      assert.equal(new URL(page.url()).pathname, "/login", `the old cookie opened ${page.url()}`);
      assert.ok(response.ok());
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      // The sign-out request follows its redirect to /login, which the page's own move to
      // /login?expired=1 then cuts; the live feed is refused once the session is gone.
      problems.failed = problems.failed.filter((f) => f !== `GET ${BASE_URL}/login: net::ERR_ABORTED`);
      clean(problems, [/EventSource|\/events/]);
    } finally {
      await context.close();
    }
  });
});
