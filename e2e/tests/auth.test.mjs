// Staff sign-in as a person does it: the login form, two-factor enrolment with recovery
// codes, signing in with a code, signing out, and the messages for mistakes.
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

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const vp of VIEWPORTS) {
  describe(`sign-in page (${vp.name})`, () => {
    test("is labelled, fits the screen, and says what went wrong without revealing accounts", async () => {
      const { context, page, problems } = await openPage(browser, vp);
      try {
        const response = await page.goto(BASE_URL + "/login");
        assert.equal(response.status(), 200);
        assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Sign in");
        assert.equal(await page.getByLabel("Email").getAttribute("autocomplete"), "username");
        assert.equal(await page.getByLabel("Password").getAttribute("type"), "password");
        await assertLabelled(page);
        await assertFits(page);
        await screenshot(page, `login-${vp.name}`);

        // A wrong password, and an unknown email, get the same message.
        await submitPassword(page, "staff@e2e.test", "not the right password");
        const alert = page.getByRole("alert");
        await alert.waitFor();
        assert.equal((await alert.textContent()).trim(), "The email or password is not right.");
        assert.equal(await page.getByLabel("Email").inputValue(), "staff@e2e.test", "the email is kept");
        assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");
        await submitPassword(page, `nobody-${vp.name}@e2e.test`, "not the right password");
        assert.equal((await page.getByRole("alert").textContent()).trim(), "The email or password is not right.");

        // After automatic logoff the form says why.
        await page.goto(BASE_URL + "/login?expired=1");
        await page.getByText(/You were signed out after 15 minutes without activity/).waitFor();
        clean(problems);
      } finally {
        await context.close();
      }
    });
  });
}

describe("two-factor sign-in", () => {
  const vp = VIEWPORTS.find((v) => v.name === "phone");
  const email = `new-admin-${Date.now()}@e2e.test`;
  const password = `fresh-${Date.now()}-password`;

  test("a new admin enrols on first sign-in, keeps recovery codes, then signs in with a code", async () => {
    const { context, page, problems } = await openPage(browser, vp);
    try {
      // The e2e admin (enrolling if this is its first sign-in) adds another admin.
      await signInAdmin(page);
      await page.goto(BASE_URL + "/admin/users");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Name").fill("New Admin");
      await page.getByLabel("Role").selectOption("admin");
      await page.getByLabel("Temporary password").fill(password);
      await page.getByRole("button", { name: "Add user" }).click();
      await page.waitForURL(/\/admin\/users\?done=added/);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(BASE_URL + "/login");

      // First sign-in: two-factor set-up comes first.
      await submitPassword(page, email, password);
      await page.waitForURL(BASE_URL + "/account/two-factor");
      assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Set up two-factor sign-in");
      await page.locator(".qr svg").waitFor();
      assert.match((await page.locator("#totp-secret").textContent()).trim(), /^[A-Z2-7]{16,}$/);
      // Nothing else opens before it is done.
      await page.goto(BASE_URL + "/admin");
      await page.waitForURL(BASE_URL + "/account/two-factor");
      // A wrong code is explained, and the same set-up stays on screen.
      const secretBefore = (await page.locator("#totp-secret").textContent()).trim();
      await page.getByLabel("6-digit code").fill("000000");
      await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
      await page.getByRole("alert").filter({ hasText: "That code is not right" }).waitFor();
      assert.equal((await page.locator("#totp-secret").textContent()).trim(), secretBefore);
      await assertLabelled(page);
      await assertFits(page);
      await screenshot(page, "two-factor-phone");

      const { secret, codes } = await enrol(page);
      assert.equal(secret, secretBefore);
      assert.equal(codes.length, 10);
      for (const c of codes) assert.match(c, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
      await screenshot(page, "recovery-codes-phone");
      await page.getByRole("link", { name: "Continue to the inbox" }).click();
      await page.waitForURL(BASE_URL + "/");

      // Sign out from a staff page, then back in with a code, by keyboard only.
      await page.goto(BASE_URL + "/admin");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(BASE_URL + "/login");
      await page.goto(BASE_URL + "/admin");
      await page.waitForURL(/\/login\?next=%2Fadmin$/);
      await page.keyboard.type(email); // the email field has focus
      await page.keyboard.press("Tab");
      await page.keyboard.type(password);
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/login\/code/);
      await page.getByLabel("Code", { exact: true }).fill("123456");
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("alert").filter({ hasText: "That code is not right" }).waitFor();
      await page.getByLabel("Code", { exact: true }).fill(await freshTotp(secret));
      await page.keyboard.press("Enter");
      await page.waitForURL(BASE_URL + "/admin");
      await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();

      // A recovery code works once.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(BASE_URL + "/login");
      await submitPassword(page, email, password);
      await page.waitForURL(/\/login\/code/);
      await page.getByLabel("Code", { exact: true }).fill(codes[3]);
      await page.getByRole("button", { name: "Continue" }).click();
      await page.waitForURL(BASE_URL + "/");
      await page.goto(BASE_URL + "/admin");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(BASE_URL + "/login");
      await submitPassword(page, email, password);
      await page.waitForURL(/\/login\/code/);
      await page.getByLabel("Code", { exact: true }).fill(codes[3]);
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("alert").filter({ hasText: "That code is not right" }).waitFor();
      clean(problems);
    } finally {
      await context.close();
    }
  });

});
