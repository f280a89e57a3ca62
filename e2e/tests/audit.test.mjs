// The audit log as an auditor uses it: the "Audit log" link, filtering by action and date,
// paging, the CSV link; accessible at phone and desktop sizes. Staff have no link and get 403.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, PASSWORD, VIEWPORTS, checkA11y, launch, openPage, submitPassword } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

VIEWPORTS.forEach((vp) => {
  describe(`audit log (${vp.name})`, () => {
    let context, page, problems;
    before(async () => { ({ context, page, problems } = await openPage(browser, vp)); });
    after(async () => { await context?.close(); });

    test("an auditor filters the log by action and day", async () => {
      await submitPassword(page, "auditor@e2e.test", PASSWORD);
      await page.waitForURL(BASE_URL + "/");
      await page.getByRole("link", { name: "Audit log" }).click();
      await page.waitForURL(BASE_URL + "/audit");
      await page.getByRole("heading", { name: "Audit log", level: 1 }).waitFor();
      await checkA11y(page, `/audit (${vp.name})`);

      await page.getByLabel("Action").fill("session.sign_in");
      const today = new Date().toISOString().slice(0, 10);
      await page.getByLabel("Until (day, included)").fill(today);
      await page.getByRole("button", { name: "Show entries" }).click();
      await page.waitForURL(/\/audit\?.*action=session.sign_in/);
      const actions = await page.locator("#audit-entries tbody th").allTextContents();
      assert.ok(actions.length >= 1, "the auditor's own sign-in is listed");
      assert.ok(actions.every((a) => a.trim() === "session.sign_in"), `only sign-ins: ${actions}`);
      const who = await page.locator("#audit-entries tbody td[data-label=Who]").allTextContents();
      assert.ok(who.some((w) => w.includes("E2E Auditor")), `names shown: ${who}`);
      const csv = await page.locator("#audit-csv").getAttribute("href");
      assert.match(csv, /^\/audit\.csv\?.*action=session\.sign_in/);
      await checkA11y(page, `/audit filtered (${vp.name})`);

      // A day in the future matches nothing, and says so.
      await page.getByLabel("From (day)").fill("2999-01-01");
      await page.getByLabel("Until (day, included)").fill("");
      await page.getByRole("button", { name: "Show entries" }).click();
      await page.locator("#no-entries").waitFor();
      // The inbox's live feed is cut when the auditor leaves it; nothing else may go wrong.
      assert.deepEqual(problems.pageErrors, []);
      assert.deepEqual(problems.console, []);
    });

    test("staff have no audit log", async () => {
      const staffContext = await browser.newContext();
      const staffPage = await staffContext.newPage();
      await submitPassword(staffPage, "staff@e2e.test", PASSWORD);
      await staffPage.waitForURL(BASE_URL + "/");
      assert.equal(await staffPage.getByRole("link", { name: "Audit log" }).count(), 0);
      const r = await staffPage.goto(BASE_URL + "/audit");
      assert.equal(r.status(), 403);
      await staffContext.close();
    });
  });
});
