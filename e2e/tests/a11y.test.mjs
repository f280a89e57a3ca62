// Accessibility of every page a person uses, checked with axe-core at phone and desktop sizes:
// no violation of impact "serious" or "critical" (lesser ones are printed). Also keeps the
// admin departments page's screenshot current.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN,
  BASE_URL,
  PASSWORD,
  VIEWPORTS,
  checkA11y,
  launch,
  openPage,
  patientNumber,
  screenshot,
  signInAdmin,
  signInStaff,
  submitPassword,
} from "./support.mjs";

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
      await signInAdmin(page, { onPage: (name) => checkA11y(page, `${name} (${vp.name})`) });
    });
    after(async () => { await context?.close(); });

    for (const path of ["/admin", "/admin/users", "/admin/departments", "/admin/numbers", "/admin/templates", "/admin/settings", "/admin/front-door", "/account/two-factor"]) {
      test(path, async () => {
        await visit(page, path);
        await checkA11y(page, `${path} (${vp.name})`);
        if (path === "/admin/departments") await screenshot(page, `admin-departments-${vp.name}`);
        if (path === "/admin/front-door") await screenshot(page, `admin-front-door-${vp.name}`);
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

    test("/patients, a new patient with an error, the patient's page", async () => {
      await visit(page, "/patients/new");
      await checkA11y(page, `/patients/new (${vp.name})`);
      await page.getByLabel("First name").fill(`Ana${index}`);
      await page.getByLabel("Last name").fill("Lopez");
      await page.getByLabel("Phones (one per line; texts go to the first)").fill("not a phone");
      await page.getByRole("button", { name: "Add patient" }).click();
      await page.getByRole("alert").waitFor();
      await checkA11y(page, `/patients/new with an error (${vp.name})`);
      await page.getByLabel("Phones (one per line; texts go to the first)").fill(`+1212736${5100 + index}`);
      await page.getByRole("button", { name: "Add patient" }).click();
      await page.waitForURL(/\/patients\/[0-9a-f-]+\?saved=1/);
      await page.getByRole("status").waitFor();
      await checkA11y(page, `/patients/{id} (${vp.name})`);
      await visit(page, "/patients?q=lopez");
      await page.getByRole("link", { name: `Ana${index} Lopez` }).waitFor();
      await checkA11y(page, `/patients (${vp.name})`);
    });

    test("/referrals and /broadcasts", async () => {
      await visit(page, "/referrals");
      await page.getByRole("heading", { level: 1 }).waitFor();
      await checkA11y(page, `/referrals (${vp.name})`);
      await visit(page, "/broadcasts");
      await page.getByRole("heading", { level: 1 }).waitFor();
      await checkA11y(page, `/broadcasts (${vp.name})`);
    });
  });
});
