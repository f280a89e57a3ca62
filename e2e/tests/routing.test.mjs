// Triage as an admin sets it up and staff see it: a routing rule added on /admin/routing, a
// patient's text (through the simulator) landing in the rule's department with the reason shown
// in the conversation, and the pages checked with axe-core.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, assertClean, checkA11y, launch, openPage, signInAdmin } from "./support.mjs";

const DESKTOP = VIEWPORTS.find((v) => v.name === "desktop");
// A number and a word no other test file uses, so the rule touches only this file's texts.
const PATIENT = "+17185550177";
const WORD = "zebrabilling";

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

function clean(problems) {
  problems.failed = problems.failed.filter((f) => !/\/(events|c\/[0-9a-f-]+\/thread)\S*: net::ERR_ABORTED$/.test(f));
  assertClean(problems, { allowConsole: [/status of 422/] });
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe("routing", () => {
  test("an admin adds a rule and a patient's text lands in its department with the reason", async () => {
    const { context, page, problems } = await openPage(browser, DESKTOP);
    try {
      await signInAdmin(page);
      // A department to route to, from the departments page, which links the rules.
      await page.goto(BASE_URL + "/admin/departments");
      await page.getByLabel("Name", { exact: true }).fill("Routing billing desk");
      await page.getByRole("button", { name: "Add department" }).click();
      await page.getByRole("link", { name: "Routing rules and text menu" }).click();
      await page.getByRole("heading", { level: 1, name: "Routing rules" }).waitFor();
      await checkA11y(page, "/admin/routing");

      // A pattern that does not compile is refused, naming the rule; nothing is saved.
      await page.getByLabel("Name", { exact: true }).fill("Broken pattern");
      await page.getByLabel("Or a pattern (regular expression, any capitals)").fill("(unclosed");
      await page.getByLabel("Department", { exact: true }).selectOption({ label: "Routing billing desk" });
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.locator("#form-error").waitFor();
      assert.match(await page.locator("#form-error").innerText(), /rule 'Broken pattern': the pattern is not a valid regular expression/);
      await checkA11y(page, "/admin/routing with an error");

      // The rule, added.
      await page.getByLabel("Name", { exact: true }).fill("Zebra billing");
      await page.getByLabel("Or a pattern (regular expression, any capitals)").fill("");
      await page.getByLabel("Words or phrases (any of them, separated by commas)").fill(WORD);
      await page.getByLabel("Department", { exact: true }).selectOption({ label: "Routing billing desk" });
      await page.getByLabel("Priority", { exact: true }).selectOption("high");
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      assert.match(await page.locator("#rules").innerText(), /Zebra billing/);

      // The patient texts; the conversation is in the department, with the reason.
      const sent = await patientTexts(PATIENT, `Hello, a question about ${WORD} please`);
      assert.ok(sent.conversation_id, "the simulator says which conversation");
      await page.goto(`${BASE_URL}/c/${sent.conversation_id}`);
      await page.locator("#thread").waitFor();
      assert.match(await page.locator(".conv-sub").innerText(), /Routing billing desk/);
      const entry = page.locator("#thread li.entry.routing");
      assert.match(await entry.innerText(), new RegExp(`routed to Routing billing desk: rule 'Zebra billing' matched '${WORD}'; priority high`));
      await page.locator("#conv-routing").getByText("High priority").waitFor();
      await checkA11y(page, "conversation with a routing entry");

      // Members and assignment of the department, and one's own availability.
      await page.goto(BASE_URL + "/admin/departments");
      await page.getByRole("link", { name: "Members and assignment of Routing billing desk" }).click();
      await page.getByRole("heading", { level: 1, name: "Routing billing desk: members and assignment" }).waitFor();
      await page.getByLabel("Person").selectOption({ label: "E2E Staff" });
      await page.getByLabel("Capacity (most open conversations assigned at once)").fill("3");
      await page.getByRole("button", { name: "Add member" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      assert.match(await page.locator("#members").innerText(), /E2E Staff/);
      await page.getByLabel("Least busy: the member with the fewest open conversations").check();
      await page.getByRole("button", { name: "Save strategy" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await checkA11y(page, "department members and assignment");
      await page.getByRole("button", { name: "Remove E2E Staff" }).click();
      await page.getByRole("status").filter({ hasText: "Removed." }).waitFor();
      await page.getByRole("link", { name: "Availability" }).click();
      await page.getByRole("button", { name: "Make me unavailable" }).click();
      await page.getByRole("button", { name: "Make me available" }).waitFor();
      await checkA11y(page, "/availability");
      await page.getByRole("button", { name: "Make me available" }).click();
      await page.getByRole("button", { name: "Make me unavailable" }).waitFor();

      // Tidy up: the rule goes, so later files' texts are not routed by it.
      await page.goto(BASE_URL + "/admin/routing");
      await page.getByRole("button", { name: "Delete Zebra billing" }).click();
      await page.getByRole("status").filter({ hasText: "Deleted." }).waitFor();
      clean(problems);
    } finally {
      await context.close();
    }
  });
});
