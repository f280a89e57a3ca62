// The simulated phone at /simulator, used as a patient would: type a number, text the
// practice, watch replies and statuses arrive live.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, api, assertClean, launch, openPage, patientNumber, screenshot } from "./support.mjs";

const HELP_REPLY = /Reply STOP to opt out/;
const STOP_REPLY = /you are unsubscribed/;
const START_REPLY = /you are subscribed again/;
const XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/// Counts the POSTs the page makes to /simulator/send.
function countSends(page) {
  const counter = { n: 0 };
  page.on("request", (req) => {
    if (req.method() === "POST" && new URL(req.url()).pathname === "/simulator/send") counter.n++;
  });
  return counter;
}

async function useNumber(page, typed) {
  await page.getByLabel("Your number").fill(typed);
  await page.getByRole("button", { name: "Use this number" }).click();
  await page.locator("#status-line").filter({ hasText: "Connected as" }).waitFor();
}

VIEWPORTS.forEach((vp, index) => {
  describe(`simulator (${vp.name})`, () => {
    const me = patientNumber(index * 40);
    let context, page, problems, sends;
    const thread = () => page.getByRole("list", { name: "Messages with the practice" });
    const incoming = (re) => thread().locator("li.bubble.incoming").filter({ hasText: re });
    const outgoing = (text) => thread().locator("li.bubble.outgoing").filter({ hasText: text });

    before(async () => {
      ({ context, page, problems } = await openPage(browser, vp));
      sends = countSends(page);
      const response = await page.goto(BASE_URL + "/simulator");
      assert.equal(response.status(), 200);
    });
    after(async () => { await context?.close(); });

    test("is accessible: labelled inputs, a live thread, an alert line for errors", async () => {
      await page.getByLabel("Your number").waitFor();
      assert.equal(await page.getByLabel("Your number").getAttribute("type"), "tel");
      assert.equal(await page.getByLabel("Message", { exact: true }).count(), 1, "the message box has a label");
      assert.equal(await page.getByRole("textbox", { name: "Message" }).count(), 1);
      assert.equal(await thread().getAttribute("aria-live"), "polite");
      assert.equal(await page.locator("#error").getAttribute("role"), "alert");
      assert.equal(await page.getByRole("button", { name: "Send" }).count(), 1);
      // A random demo number is filled in and connected already.
      await page.locator("#status-line").filter({ hasText: "Connected as" }).waitFor();
    });

    test("the phone fits the screen", async () => {
      const box = await page.locator(".phone").boundingBox();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
      assert.ok(box.x >= 0 && box.x + box.width <= vp.viewport.width, `phone frame cut off: ${JSON.stringify(box)}`);
      const composer = await page.getByRole("button", { name: "Send" }).boundingBox();
      assert.ok(composer.y + composer.height <= box.y + box.height, "Send button inside the phone");
      // What a person sees first, before any scrolling: the message box must be on it.
      assert.ok(composer.y + composer.height <= vp.viewport.height, `Send button below the first screen: ${JSON.stringify(composer)}`);
      await screenshot(page, `simulator-${vp.name}-first-screen`, { fullPage: false });
    });

    test("HELP sent with Enter gets the help text, with its status", async () => {
      await useNumber(page, me.typed);
      assert.match(await page.locator("#status-line").textContent(), new RegExp(`Connected as`));
      const body = page.getByLabel("Message", { exact: true });
      await body.click();
      await body.pressSequentially("HELP");
      await body.press("Enter");
      await outgoing("HELP").first().waitFor();
      assert.equal(await body.inputValue(), "", "the message box is cleared after sending");
      await incoming(HELP_REPLY).first().waitFor({ timeout: 5000 });
      assert.equal(await incoming(HELP_REPLY).count(), 1);
      await incoming(HELP_REPLY).first().locator(".meta").filter({ hasText: "delivered" }).waitFor();
      assert.equal(await outgoing("HELP").locator(".meta").textContent(), "sent");
    });

    test("HELP sent with the Send button gets the help text again", async () => {
      await page.getByLabel("Message", { exact: true }).fill("HELP");
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForFunction(() => document.querySelectorAll("#thread li.outgoing").length >= 2);
      assert.equal(await outgoing("HELP").count(), 2);
      await page.waitForFunction(
        (n) => [...document.querySelectorAll("#thread li.incoming")].filter((li) => /Reply STOP/.test(li.textContent)).length >= n,
        2,
        { timeout: 5000 },
      );
      await screenshot(page, `simulator-${vp.name}-help`);
    });

    test("STOP is confirmed once, a second STOP gets no second confirmation", async () => {
      await page.getByLabel("Message", { exact: true }).fill("STOP");
      await page.getByLabel("Message", { exact: true }).press("Enter");
      await incoming(STOP_REPLY).first().waitFor({ timeout: 5000 });
      await incoming(STOP_REPLY).first().locator(".meta").filter({ hasText: "delivered" }).waitFor();
      await page.getByLabel("Message", { exact: true }).fill("STOP");
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForFunction(() => document.querySelectorAll("#thread li.outgoing").length >= 4);
      await page.waitForTimeout(2000);
      assert.equal(await incoming(STOP_REPLY).count(), 1, "exactly one opt-out confirmation");
    });

    test("START resubscribes", async () => {
      await page.getByLabel("Message", { exact: true }).fill("START");
      await page.getByLabel("Message", { exact: true }).press("Enter");
      await incoming(START_REPLY).first().waitFor({ timeout: 5000 });
      assert.equal(await incoming(START_REPLY).count(), 1);
      await screenshot(page, `simulator-${vp.name}-stop-start`);
    });

    test("a staff reply sent through the API appears live", async () => {
      const { conversations } = await api("GET", "/conversations");
      const mine = conversations.find((c) => c.contact?.phone === me.e164);
      assert.ok(mine, `a conversation with ${me.e164} among ${conversations.map((c) => c.contact?.phone)}`);
      const text = `Hi from the front desk (${vp.name}): your appointment is Tuesday at 3pm.`;
      await api("POST", `/conversations/${mine.id}/messages`, { body: text });
      await incoming(text).waitFor({ timeout: 5000 });
      await incoming(text).locator(".meta").filter({ hasText: "delivered" }).waitFor();
      // Staff may type markup too; the phone shows it as text.
      await api("POST", `/conversations/${mine.id}/messages`, { body: `staff says ${XSS}` });
      await incoming(`staff says ${XSS}`).waitFor({ timeout: 5000 });
      assert.equal(await thread().locator("img, script").count(), 0);
    });

    test("markup a patient types is shown as text, never run", async () => {
      await page.getByLabel("Message", { exact: true }).fill(XSS);
      await page.getByRole("button", { name: "Send" }).click();
      await outgoing(XSS).waitFor();
      assert.equal(await outgoing(XSS).locator("p").textContent(), XSS);
      await page.waitForTimeout(500);
      assert.equal(await thread().locator("img, script").count(), 0, "no element made from the text");
      assert.equal(await page.locator("img").count(), 0);
      assert.deepEqual(problems.dialogs, [], "no alert() ran");
      await screenshot(page, `simulator-${vp.name}-markup`);
    });

    test("an empty or blank message does nothing", async () => {
      const before = { sends: sends.n, bubbles: await thread().locator("li").count() };
      await page.getByLabel("Message", { exact: true }).fill("");
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByLabel("Message", { exact: true }).press("Enter");
      await page.getByLabel("Message", { exact: true }).fill("   \n  ");
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForTimeout(300);
      assert.equal(sends.n, before.sends, "no request was made");
      assert.equal(await thread().locator("li").count(), before.bubbles, "no bubble was added");
      assert.equal(await page.locator("#error").textContent(), "");
    });

    test("no console errors and no failed requests", async () => {
      assertClean(problems);
    });
  });

  describe(`simulator, changing numbers (${vp.name})`, () => {
    // Chromium logs the server's refusal of a bad number (the event feed's 422) as a console error.
    const refused = [/status of 422 .*\/simulator\/events\?phone=/];

    test("a number that is not a phone number gets a clear error in the error line", async () => {
      const { context, page, problems } = await openPage(browser, vp);
      const sends = countSends(page);
      try {
        await page.goto(BASE_URL + "/simulator");
        await page.locator("#status-line").filter({ hasText: "Connected as" }).waitFor();
        const error = page.locator("#error");

        // Pressing "Use this number" on a number the server refuses.
        await page.getByLabel("Your number").fill("12");
        await page.getByRole("button", { name: "Use this number" }).click();
        await error.filter({ hasText: /country code/ }).waitFor({ timeout: 5000 });
        assert.match(await error.textContent(), /“12” is not a number/);
        assert.ok(await error.isVisible());
        assert.equal(await page.locator("#status-line").textContent(), "Not connected");
        await screenshot(page, `simulator-${vp.name}-bad-number`);

        // Typing a message anyway: still the error, nothing sent, the message kept.
        await page.getByLabel("Message", { exact: true }).fill("hello");
        await page.getByRole("button", { name: "Send" }).click();
        await error.filter({ hasText: /country code/ }).waitFor({ timeout: 5000 });
        assert.equal(await page.getByLabel("Message", { exact: true }).inputValue(), "hello");

        // Letters are refused at once, without asking the server.
        await page.getByLabel("Your number").fill("call me");
        await page.getByRole("button", { name: "Use this number" }).click();
        await error.filter({ hasText: /“call me” is not a number/ }).waitFor({ timeout: 2000 });
        assert.equal(sends.n, 0, "nothing was sent");
        assert.equal(await page.locator("#thread li").count(), 0);

        // Fixing the number clears the error and the text goes through.
        const fixed = patientNumber(index * 40 + 20);
        await page.getByLabel("Your number").fill(fixed.typed);
        await page.getByRole("button", { name: "Send" }).click();
        await page.locator("#thread li.outgoing").filter({ hasText: "hello" }).waitFor({ timeout: 5000 });
        assert.equal(await error.textContent(), "");
        assert.match(await page.locator("#status-line").textContent(), /Connected as/);
        assertClean(problems, { allowConsole: refused });
      } finally {
        await context.close();
      }
    });

    test("a new number typed without pressing “Use this number” still sees its replies", async () => {
      const { context, page, problems } = await openPage(browser, vp);
      try {
        await page.goto(BASE_URL + "/simulator");
        await page.locator("#status-line").filter({ hasText: "Connected as" }).waitFor();
        const other = patientNumber(index * 40 + 25);
        await page.getByLabel("Your number").fill(other.e164);
        await page.getByLabel("Message", { exact: true }).fill("HELP");
        await page.getByLabel("Message", { exact: true }).press("Enter");
        await page.locator("#thread li.incoming").filter({ hasText: HELP_REPLY }).waitFor({ timeout: 5000 });
        assert.equal(await page.locator("#status-line").textContent(), `Connected as ${other.e164}`);
        assertClean(problems);
      } finally {
        await context.close();
      }
    });
  });
});
