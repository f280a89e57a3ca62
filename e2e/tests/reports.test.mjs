// Reports as a practice manager opens them: patients text (simulator), staff answer through the
// API, then the admin opens /reports, sees the three charts drawn as SVG with their tables,
// switches the period and the breakdown, and downloads a CSV. Accessibility checked by axe;
// screenshots saved for desktop and phone.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, api, assertClean, checkA11y, launch, openPage, patientNumber, screenshot, signInAdmin } from "./support.mjs";

const DESKTOP = VIEWPORTS.find((v) => v.name === "desktop");
const PHONE = VIEWPORTS.find((v) => v.name === "phone");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/// The dashboard's live stream is cut when a page navigates away; that is not a failure.
function clean(problems, allowConsole = []) {
  problems.failed = problems.failed.filter((f) => !/\/events\S*: net::ERR_ABORTED$/.test(f));
  assertClean(problems, { allowConsole });
}

async function patientTexts(from, body) {
  const r = await fetch(BASE_URL + "/simulator/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from, body }),
  });
  assert.ok(r.ok, `simulator send answered ${r.status}`);
}

describe("reports", () => {
  test("admin sees charts with text alternatives, cuts and CSV", async () => {
    const a = patientNumber(40);
    const b = patientNumber(41);
    await patientTexts(a.e164, "Hi, is my prescription ready?");
    await patientTexts(b.e164, "Can I move my appointment?");
    // Answer the first through the API (a reply by the practice).
    let conversation;
    for (let i = 0; i < 50 && !conversation; i++) {
      const list = await api("GET", "/conversations?limit=100");
      conversation = list.conversations.find((c) => c.contact.phone === a.e164);
      if (!conversation) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(conversation, "the patient's conversation exists");
    await api("POST", `/conversations/${conversation.id}/messages`, { body: "Yes, it is ready for pickup." });
    const json = await api("GET", "/reports?days=7");
    assert.ok(json.current.messages_in >= 2);
    assert.ok(json.current.first_response.count >= 1);

    const { context, page, problems } = await openPage(browser, DESKTOP);
    await signInAdmin(page);
    await page.getByRole("link", { name: "Reports" }).click();
    await page.waitForURL(/\/reports/);
    await page.getByLabel("Period", { exact: true }).selectOption("7");
    await page.getByLabel("Break down by").selectOption("number");
    await page.getByRole("button", { name: "Show report" }).click();
    await page.waitForURL(/days=7/);
    for (const name of ["Texts per day", "Time to first response", "When patients text"]) {
      const chart = page.getByRole("img", { name });
      await chart.waitFor();
      assert.ok((await chart.locator("rect").count()) > 0, `${name} has bars`);
    }
    const received = page.locator("#table-summary tr", { hasText: "Texts received" }).locator("td").first();
    assert.equal(await received.textContent(), String(json.current.messages_in));
    assert.ok(await page.locator("#table-cut").isVisible(), "the breakdown by number is shown");
    await checkA11y(page, "reports desktop");
    await screenshot(page, "reports-desktop");

    // The CSV link of the summary answers the same numbers.
    const href = await page.locator("#table-summary caption a").getAttribute("href");
    const cookies = await context.cookies();
    const csv = await (await fetch(BASE_URL + href, {
      headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join("; ") },
    })).text();
    assert.match(csv, new RegExp(`^Texts received,${json.current.messages_in},`, "m"));

    // A bad range names the field.
    await page.goto(BASE_URL + "/reports?from=2026-02-30&to=2026-03-01");
    assert.match(await page.getByRole("alert").textContent(), /^from: /);
    clean(problems, [/status of 400/]);
    await context.close();

    const phone = await openPage(browser, PHONE);
    await signInAdmin(phone.page);
    await phone.page.goto(BASE_URL + "/reports?days=30");
    await phone.page.getByRole("img", { name: "Texts per day" }).waitFor();
    await checkA11y(phone.page, "reports phone");
    await screenshot(phone.page, "reports-phone");
    clean(phone.problems);
    await phone.context.close();
  });
});
