// The admin pages as an admin uses them: users, templates, practice settings, numbers; and
// what staff see when they try them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN,
  BASE_URL,
  PASSWORD,
  VIEWPORTS,
  assertClean,
  enrol,
  freshTotp,
  launch,
  openPage,
  screenshot,
  signInAdmin,
  submitPassword,
} from "./support.mjs";

/// No element wider than the screen.
async function assertFits(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
}

/// Every visible form control has a label.
async function assertLabelled(page) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
      .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], "inputs without a label");
}

// Expected noise: forms answered 422/403 on purpose, and the inbox's live feed (at /)
// cut when the test navigates away.
const ALLOW = [/status of (403|404|422)/];
function clean(problems) {
  problems.failed = problems.failed.filter((f) => !/\/events\S*: net::ERR_ABORTED$/.test(f));
  assertClean(problems, { allowConsole: ALLOW });
}

const XSS = "<img src=x onerror=alert(1)>";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe("admin pages", () => {
  let context, page, problems;
  before(async () => {
    ({ context, page, problems } = await openPage(browser, VIEWPORTS.find((v) => v.name === "desktop")));
    await signInAdmin(page);
  });
  after(async () => { await context?.close(); });

  test("the admin index links every admin page", async () => {
    await page.goto(BASE_URL + "/admin");
    await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
    for (const name of ["Users and roles", "Practice numbers", "Templates", "Practice settings"]) {
      assert.equal(await page.getByRole("link", { name }).count(), 1, name);
    }
    assert.equal(await page.getByRole("link", { name: "Admin" }).getAttribute("aria-current"), "page");
  });

  test("users: the table shows roles and two-factor; every field is labelled", async () => {
    await page.goto(BASE_URL + "/admin/users");
    const table = page.locator("#users");
    for (const role of ["admin", "staff", "auditor"]) {
      await table.locator("tr", { hasText: `${role}@e2e.test` }).waitFor();
    }
    assert.match(await table.locator("tr", { hasText: "admin@e2e.test" }).textContent(), /On/);
    await assertLabelled(page);
    // A short password is refused, naming the field.
    await page.getByLabel("Email").fill(`short-${Date.now()}@e2e.test`);
    await page.getByLabel("Name").fill(XSS);
    await page.getByLabel("Temporary password").fill("short");
    // Skip the browser's own minlength check to see the server's answer.
    await page.locator("form[action='/admin/users']").evaluate((f) => { f.noValidate = true; });
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("alert").filter({ hasText: "Temporary password" }).or(page.getByRole("alert").filter({ hasText: "Password:" })).waitFor();
    assert.equal(await page.getByLabel("Name").inputValue(), XSS, "the name is kept, as text");
    assert.equal(await page.getByLabel("Temporary password").getAttribute("aria-invalid"), "true");
    await screenshot(page, "admin-users-desktop");
  });

  test("users: the page fits a phone", async () => {
    const phone = await openPage(browser, VIEWPORTS.find((v) => v.name === "phone"));
    try {
      await phone.context.addCookies(await context.cookies());
      await phone.page.goto(BASE_URL + "/admin/users");
      await phone.page.locator("#users").waitFor();
      await assertFits(phone.page);
      await screenshot(phone.page, "admin-users-phone");
      clean(phone.problems);
    } finally {
      await phone.context.close();
    }
  });

  test("templates: an admin adds one, sees the variables, edits and deletes it", async () => {
    await page.goto(BASE_URL + "/admin/templates");
    await page.getByText("{patient.first_name}").first().waitFor();
    const name = `Reminder ${Date.now()} ${XSS}`;
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Text").fill("Hi {patient.first_name}, this is {practice.name}. See you soon.");
    await page.getByRole("button", { name: "Add template" }).click();
    await page.waitForURL(/done=saved/);
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const item = page.locator("#templates li", { hasText: name });
    await item.waitFor();
    assert.equal(await item.locator("img").count(), 0, "the name is text, not markup");
    // An unknown variable is refused, naming the field.
    await page.getByLabel("Name").fill(`Broken ${Date.now()}`);
    await page.getByLabel("Text").fill("Hi {nope}");
    await page.getByRole("button", { name: "Add template" }).click();
    await page.getByRole("alert").filter({ hasText: /^\s*Text:/ }).waitFor();
    // Edit, then delete.
    await page.goto(BASE_URL + "/admin/templates");
    await page.getByRole("link", { name: `Edit ${name}` }).click();
    await page.getByLabel("Text").fill("Hi {patient.first_name}, see you tomorrow.");
    await page.getByRole("button", { name: "Save template" }).click();
    await page.waitForURL(/done=saved/);
    await page.locator("#templates li", { hasText: "see you tomorrow" }).waitFor();
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    await page.waitForURL(/done=deleted/);
    assert.equal(await page.locator("#templates li", { hasText: name }).count(), 0);
  });

  test("settings: an admin renames the practice and the change shows at once", async () => {
    await page.goto(BASE_URL + "/admin/settings");
    const original = await page.getByLabel("Practice name").inputValue();
    await page.getByLabel("Practice name").fill("Elm Street Clinic");
    await page.getByLabel("Time zone").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("alert").filter({ hasText: "Time zone:" }).waitFor();
    await page.getByLabel("Time zone").fill("America/Chicago");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.waitForURL(/\/admin\/settings\?done=saved/);
    assert.equal((await page.locator(".topbar .brand").textContent()).trim(), "Elm Street Clinic");
    assert.equal(await page.getByLabel("Practice name").inputValue(), "Elm Street Clinic");
    await screenshot(page, "admin-settings-desktop");
    // Put it back for the other test files.
    await page.getByLabel("Practice name").fill(original);
    await page.getByLabel("Time zone").fill("America/New_York");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.waitForURL(/done=saved/);
  });

  test("numbers: the configured providers are offered", async () => {
    await page.goto(BASE_URL + "/admin/numbers");
    await page.locator("#numbers").waitFor();
    assert.deepEqual(await page.getByLabel("Provider").locator("option").allTextContents(), ["simulator"]);
    await assertLabelled(page);
    clean(problems);
  });
});

describe("admin pages for other roles", () => {
  test("staff get a clear refusal and no admin link", async () => {
    const { context, page, problems } = await openPage(browser, VIEWPORTS.find((v) => v.name === "phone"));
    try {
      await submitPassword(page, "staff@e2e.test", PASSWORD);
      await page.waitForURL(BASE_URL + "/");
      const response = await page.goto(BASE_URL + "/admin/users");
      assert.equal(response.status(), 403);
      await page.getByRole("heading", { level: 1, name: "Not allowed" }).waitFor();
      clean(problems);
    } finally {
      await context.close();
    }
  });
});
