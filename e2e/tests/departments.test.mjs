// Department hours and urgent texts as people use them: an admin edits a department's hours
// (a refused overlap names the day, then a save), and an urgent text makes a prominent alert
// appear on a signed-in staff member's inbox without reloading.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, PASSWORD, VIEWPORTS, assertClean, launch, openPage, patientNumber, signInAdmin } from "./support.mjs";

const ALLOW = [/status of (403|404|422)/];
function clean(problems) {
  // Live feeds and refreshes in flight are cut when the page navigates: not failures.
  problems.failed = problems.failed.filter((f) => !((f.includes("/events") || f.includes("/inbox/rows")) && f.includes("ERR_ABORTED")));
  assertClean(problems, { allowConsole: ALLOW });
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe("department hours and urgent alerts", () => {
  test("an admin edits a department's hours", async () => {
    const { context, page, problems } = await openPage(browser, VIEWPORTS.find((v) => v.name === "desktop"));
    try {
      await signInAdmin(page);
      await page.goto(BASE_URL + "/admin/departments");
      const name = `Hours ${Date.now() % 100000}`;
      await page.getByLabel("Name", { exact: true }).fill(name);
      await page.getByRole("button", { name: "Add department" }).click();
      await page.getByRole("link", { name: `Hours and replies for ${name}` }).click();
      await page.getByRole("heading", { level: 1, name: `${name}: hours and replies` }).waitFor();

      await page.getByLabel("Monday", { exact: true }).fill("08:00-12:00, 11:00-17:00");
      await page.getByLabel("Time zone").fill("America/Chicago");
      await page.getByRole("button", { name: "Save hours and replies" }).click();
      const errors = page.locator("#form-errors");
      await errors.waitFor();
      assert.match(await errors.innerText(), /Monday hours: hours overlap/);

      await page.getByLabel("Monday", { exact: true }).fill("08:00-12:00, 13:00-17:00");
      await page.getByLabel("Saturday", { exact: true }).fill("22:00-02:00");
      await page.getByRole("button", { name: "Save hours and replies" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      assert.equal(await page.getByLabel("Monday", { exact: true }).inputValue(), "08:00-12:00, 13:00-17:00");
      assert.equal(await page.getByLabel("Saturday", { exact: true }).inputValue(), "22:00-02:00");
      clean(problems);
    } finally {
      await context.close();
    }
  });

  test("an urgent text shows a prominent alert in the inbox", async () => {
    const { context, page, problems } = await openPage(browser, VIEWPORTS.find((v) => v.name === "desktop"));
    try {
      await page.goto(BASE_URL + "/login");
      await page.getByLabel("Email").fill("staff@e2e.test");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(BASE_URL + "/");
      await page.locator("#live-state").filter({ hasText: /^Live$/ }).waitFor();

      const from = patientNumber(400).e164;
      const r = await fetch(BASE_URL + "/simulator/send", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ from, body: "I have crushing chest pain and my left arm is numb" }),
      });
      assert.ok(r.ok, `simulator send answered ${r.status}`);

      const alert = page.locator(".urgent-alert").first();
      await alert.waitFor({ timeout: 10000 });
      assert.match(await alert.innerText(), /Urgent message from a patient/);
      assert.equal(await page.locator("#urgent-alerts").getAttribute("role"), "alert");
      await alert.getByRole("link", { name: "Open the conversation" }).click();
      await page.waitForURL(/\/c\/[0-9a-f-]+$/);
      await page.locator("h1 .urgent-flag").waitFor();
      clean(problems);
    } finally {
      await context.close();
    }
  });
});
