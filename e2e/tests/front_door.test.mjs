// The front door as a patient uses it on a phone: the practice's chat-request form at /start
// (errors summarised with links to each field), then the confirmation; the same form posted
// with JavaScript turned off; the SMS policy page. axe-core checks each page.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, api, assertClean, checkA11y, launch, openPage, screenshot } from "./support.mjs";

const PHONE = VIEWPORTS.find((v) => v.name === "phone");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/// The conversation whose contact has this number, once the API lists it.
async function conversationFor(e164) {
  for (let i = 0; i < 50; i++) {
    const list = await api("GET", "/conversations?limit=100");
    const found = list.conversations.find((c) => c.contact.phone === e164);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no conversation for ${e164}`);
}

describe("front door (patient on a phone)", () => {
  test("the chat-request form: errors, then a request that is taken", async () => {
    const { context, page, problems } = await openPage(browser, PHONE);
    try {
      const response = await page.goto(BASE_URL + "/start");
      assert.equal(response.status(), 200);
      assert.match(response.headers()["content-security-policy"], /frame-ancestors 'none'/);
      await checkA11y(page, "/start (phone)");
      await screenshot(page, "front-door-start-phone");

      // Sent empty: one summary naming every field, each linking to its field.
      await page.getByRole("button", { name: "Text me" }).click();
      await page.waitForSelector("#error-summary");
      const links = await page.locator("#error-summary a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      for (const field of ["#i-first_name", "#i-phone", "#i-reason", "#i-consent"]) {
        assert.ok(links.includes(field), `${field} in ${links}`);
      }
      await checkA11y(page, "/start with errors (phone)");
      await screenshot(page, "front-door-errors-phone");

      await page.getByLabel("First name").fill("Ana");
      await page.getByLabel("Mobile number").fill("(212) 736-5801");
      await page.getByRole("radio", { name: "Billing" }).check();
      await page.getByLabel("Anything we should know? (optional)").fill("Question about my last statement");
      await page.getByRole("checkbox").check();
      await page.getByRole("button", { name: "Text me" }).click();
      await page.getByRole("heading", { name: "Thank you, we got your request" }).waitFor();
      await checkA11y(page, "/start confirmation (phone)");
      await screenshot(page, "front-door-done-phone");

      const conversation = await conversationFor("+12127365801");
      assert.ok(conversation.id);
      // The form sent empty is answered 400 (naming the fields) by design.
      assertClean(problems, { allowConsole: [/status of 400 \(Bad Request\) @ .*\/start$/] });
    } finally {
      await context.close();
    }
  });

  test("the form works with JavaScript turned off", async () => {
    const context = await browser.newContext({ viewport: PHONE.viewport, isMobile: true, javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(BASE_URL + "/start");
      await page.getByLabel("First name").fill("Ben");
      await page.getByLabel("Mobile number").fill("(212) 736-5802");
      await page.getByRole("radio", { name: "Appointments" }).check();
      await page.getByRole("checkbox").check();
      await page.getByRole("button", { name: "Text me" }).click();
      await page.getByRole("heading", { name: "Thank you, we got your request" }).waitFor();
      await conversationFor("+12127365802");
    } finally {
      await context.close();
    }
  });

  test("the SMS policy names who texts, STOP, HELP and rates", async () => {
    const { context, page, problems } = await openPage(browser, PHONE);
    try {
      await page.goto(BASE_URL + "/start");
      await page.getByRole("link", { name: "SMS policy" }).getAttribute("href").then((href) => assert.equal(href, "/sms-policy"));
      await page.goto(BASE_URL + "/sms-policy");
      const text = await page.locator("main").innerText();
      for (const needle of ["STOP", "HELP", "Message and data rates may apply", "Privacy", "Version 1"]) {
        assert.ok(text.includes(needle), `${needle} missing`);
      }
      await checkA11y(page, "/sms-policy (phone)");
      await screenshot(page, "front-door-policy-phone");
      assertClean(problems);
    } finally {
      await context.close();
    }
  });
});
