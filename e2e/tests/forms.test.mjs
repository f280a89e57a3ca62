// Secure forms as a patient fills them on a phone: staff send a form from the conversation
// (the "Send form" button, or {form.link} in their own text), the patient opens the link from
// the text and fills every built-in form: PHQ-9, GAD-7, the consent form (with a drawn
// signature; progress survives a reload), the records release and the new-patient intake
// (with a photo of the insurance card); staff then see the scores and the answers. Admins see
// a custom form's live preview as they type its definition.
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, api, assertClean, checkA11y, launch, openPage, patientNumber, screenshot, signInAdmin } from "./support.mjs";

const PASSWORD = process.env.E2E_PASSWORD;
const PHONE = VIEWPORTS.find((v) => v.name === "phone");
const DESKTOP = VIEWPORTS.find((v) => v.name === "desktop");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// ---- a real PNG, made here ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/// A width × height RGB PNG (a blue card with a white stripe) carrying a location comment.
function makePng(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const stripe = y > height / 3 && y < height / 2;
      row[1 + x * 3] = stripe ? 255 : 30;
      row[2 + x * 3] = stripe ? 255 : 90;
      row[3 + x * 3] = stripe ? 255 : 200;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("tEXt", Buffer.from("Comment\0GPSLatitude 40.7128", "latin1")),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function patientTexts(from, body) {
  const r = await fetch(BASE_URL + "/simulator/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from, body }),
  });
  assert.ok(r.ok, `simulator send answered ${r.status}`);
}

async function signIn(page) {
  await page.goto(BASE_URL + "/login");
  await page.getByLabel("Email").fill("staff@e2e.test");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(BASE_URL + "/");
}

function clean(problems) {
  // A background request cut by a navigation is not a failure: the thread's live refresh,
  // the event stream, or the composer's segment estimate when Send leaves the page.
  const background = (f) => f.includes("/events") || f.endsWith("/thread: net::ERR_ABORTED") || f.includes("/compose/check:");
  problems.failed = problems.failed.filter((f) => !(background(f) && f.includes("ERR_ABORTED")));
  assertClean(problems);
}

/// Draws a zig-zag on the page's signature pad and checks the field got a PNG.
async function sign(page) {
  const canvas = page.locator("canvas.pf-canvas");
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + 20, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + 20 + i * 20, box.y + box.height / 2 + (i % 2 ? -15 : 15));
  await page.mouse.up();
  assert.match(await page.locator('input[name="signature"]').inputValue(), /^data:image\/png;base64,/);
}

describe("secure forms (patient on a phone)", () => {
  const me = patientNumber(600);
  let staff, patient, conversationId;

  before(async () => {
    staff = await openPage(browser, DESKTOP);
    patient = await openPage(browser, PHONE);
    await signIn(staff.page);
    await patientTexts(me.e164, "Hi, the front desk asked me to fill in some forms");
    for (let i = 0; i < 50 && !conversationId; i++) {
      const { conversations } = await api("GET", "/conversations");
      conversationId = conversations.find((c) => c.contact.phone === me.e164)?.id;
      if (!conversationId) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(conversationId, "the text opened a conversation");
  });
  after(async () => {
    await staff?.context.close();
    await patient?.context.close();
  });

  /// Staff send `label` from the conversation page; returns the link the text carries.
  async function sendForm(label) {
    const page = staff.page;
    await page.goto(`${BASE_URL}/c/${conversationId}`);
    const before = (await page.locator("#thread").innerText()).match(/\/f\/[A-Za-z0-9_-]+/g) || [];
    await page.getByLabel("Send a secure form").selectOption({ label });
    await page.getByRole("button", { name: "Send form" }).click();
    await page.waitForURL(`${BASE_URL}/c/${conversationId}`);
    const text = await page.locator("#thread").innerText();
    const links = text.match(/\/f\/[A-Za-z0-9_-]+/g) || [];
    assert.equal(links.length, before.length + 1, "one more text with a link");
    const sms = text.split("\n").find((l) => l.includes(links[links.length - 1]));
    assert.doesNotMatch(sms, new RegExp(label.split(" ")[0], "i"), "the text does not name the form");
    return links[links.length - 1];
  }

  test("PHQ-9: filled on a phone, scored for staff", async () => {
    const link = await sendForm("PHQ-9 depression questionnaire");
    const page = patient.page;
    await page.goto(BASE_URL + link);
    await page.getByRole("heading", { level: 1, name: /PHQ-9/ }).waitFor();
    await checkA11y(page, "form-phq9-phone");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the form is ${overflow}px wider than the phone`);
    // Answers 1,1,1,2,2,2,3,0,0 → 12: moderate.
    const answers = [1, 1, 1, 2, 2, 2, 3, 0, 0];
    const labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"];
    for (let i = 0; i < 9; i++) {
      await page.locator(`#f-phq9_${i + 1}`).getByLabel(labels[answers[i]], { exact: true }).check();
    }
    assert.match(await page.locator("#pf-progress").innerText(), /9 of 10 answered/);
    await screenshot(page, "form-phq9-phone");
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByRole("heading", { name: "Thank you" }).waitFor();
    clean(patient.problems);

    await staff.page.goto(`${BASE_URL}/c/${conversationId}`);
    const row = staff.page.locator("li.form-request").filter({ hasText: "PHQ-9" });
    assert.match(await row.innerText(), /submitted · score 12 of 27 \(moderate\)/);
    await row.getByRole("link", { name: "Open submission" }).click();
    await staff.page.locator("#form-score").waitFor();
    assert.match(await staff.page.locator("#form-score").innerText(), /12 of 27 \(moderate\)/);
    await screenshot(staff.page, "form-submission-desktop");
  });

  test("consent: progress survives a reload, a drawn signature is sent", async () => {
    const link = await sendForm("Consent to treatment");
    const page = patient.page;
    await page.goto(BASE_URL + link);
    await page.getByLabel(/Your full name/).fill("Ann Example");
    await page.getByLabel(/I consent to examination/).check();
    await page.reload();
    assert.equal(await page.getByLabel(/Your full name/).inputValue(), "Ann Example", "progress kept on reload");
    assert.ok(await page.getByLabel(/I consent to examination/).isChecked());

    // Sending without a signature is refused, naming it.
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.locator("#error-summary").waitFor();
    assert.match(await page.locator("#error-summary").innerText(), /Signature: please sign/);
    await checkA11y(page, "form-consent-errors-phone");

    // The page came back with the name (server side) and the consent box ticked (draft).
    await sign(page);
    if (!(await page.getByLabel(/I consent to examination/).isChecked())) await page.getByLabel(/I consent to examination/).check();
    await screenshot(page, "form-consent-phone");
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByRole("heading", { name: "Thank you" }).waitFor();
    // The draft is gone once sent.
    const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("fd-form-")).length);
    assert.equal(left, 0);
    // Back to the link: already sent.
    await page.goto(BASE_URL + link);
    await page.getByRole("heading", { name: "This form was already sent" }).waitFor();
    patient.problems.console = patient.problems.console.filter((m) => !/status of (410|422)/.test(m));
    clean(patient.problems);

    await staff.page.goto(`${BASE_URL}/c/${conversationId}`);
    await staff.page.locator("li.form-request").filter({ hasText: "Consent to treatment" }).getByRole("link", { name: "Open submission" }).click();
    const img = staff.page.getByRole("img", { name: "Signature" });
    await img.waitFor();
    assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), "the signature image loads");
  });

  test("GAD-7: {form.link} in the staff's own text, scored for staff", async () => {
    const page = staff.page;
    await page.goto(`${BASE_URL}/c/${conversationId}`);
    const choice = page.locator("#form-link-choice");
    assert.ok(await choice.isHidden(), "the form choice waits for {form.link}");
    await page.getByLabel("Reply to patient").fill("Before Tuesday's visit, please answer these few questions: {form.link}");
    await choice.waitFor({ state: "visible" });
    await page.getByLabel(/Secure form for/).selectOption({ label: "GAD-7 anxiety questionnaire" });
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.waitForURL(`${BASE_URL}/c/${conversationId}`);
    const sms = (await page.locator("#thread li.outbound").filter({ hasText: "Before Tuesday's visit" }).last().innerText());
    assert.doesNotMatch(sms, /\{form\.link\}/, "the placeholder became the link");
    const link = sms.match(/\/f\/[A-Za-z0-9_-]+/)[0];

    const patientPage = patient.page;
    await patientPage.goto(BASE_URL + link);
    await patientPage.getByRole("heading", { level: 1, name: /GAD-7/ }).waitFor();
    // Answers 1,1,1,2,2,2,3 → 12: moderate (bands 0–4, 5–9, 10–14, 15–21).
    const answers = [1, 1, 1, 2, 2, 2, 3];
    const labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"];
    for (let i = 0; i < 7; i++) {
      await patientPage.locator(`#f-gad7_${i + 1}`).getByLabel(labels[answers[i]], { exact: true }).check();
    }
    await checkA11y(patientPage, "form-gad7-phone");
    await screenshot(patientPage, "form-gad7-phone");
    await patientPage.getByRole("button", { name: "Send securely" }).click();
    await patientPage.getByRole("heading", { name: "Thank you" }).waitFor();
    clean(patient.problems);

    await page.goto(`${BASE_URL}/c/${conversationId}`);
    const row = page.locator("li.form-request").filter({ hasText: "GAD-7" });
    assert.match(await row.innerText(), /submitted · score 12 of 21 \(moderate\)/);
    clean(staff.problems);
  });

  test("records release: conditional purpose, several records, a signature", async () => {
    const link = await sendForm("Request to release medical records");
    const page = patient.page;
    await page.goto(BASE_URL + link);
    await page.getByLabel(/Your full name/).fill("Ann Example");
    await page.getByLabel(/Date of birth/).fill("1980-02-03");
    await page.getByLabel(/Send the records to/).fill("Springfield Cardiology");
    await page.getByLabel(/Their address, fax or email/).fill("Fax 555-0100");
    await page.getByLabel("Lab results", { exact: true }).check();
    await page.getByLabel("Imaging reports", { exact: true }).check();
    assert.ok(await page.locator("#f-purpose_other").isHidden(), "the description waits for \"Other\"");
    await page.getByLabel("Other", { exact: true }).check();
    await page.locator("#f-purpose_other").waitFor({ state: "visible" });
    await page.getByLabel(/Please describe the purpose/).fill("Second opinion");
    await page.getByLabel(/I authorize the practice/).check();
    await sign(page);
    await checkA11y(page, "form-records-phone");
    await screenshot(page, "form-records-phone");
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByRole("heading", { name: "Thank you" }).waitFor();
    clean(patient.problems);

    await staff.page.goto(`${BASE_URL}/c/${conversationId}`);
    await staff.page.locator("li.form-request").filter({ hasText: "release medical records" }).getByRole("link", { name: "Open submission" }).click();
    const answers = await staff.page.locator("dl.answers").innerText();
    assert.match(answers, /Lab results/);
    assert.match(answers, /Imaging reports/);
    assert.match(answers, /Second opinion/);
    await staff.page.getByRole("img", { name: "Signature" }).waitFor();
    clean(staff.problems);
  });

  test("intake: conditional insurance questions and a photo of the card", async () => {
    const link = await sendForm("New patient intake");
    const page = patient.page;
    await page.goto(BASE_URL + link);
    await page.getByLabel(/First name/).fill("Ann");
    await page.getByLabel(/Last name/).fill("Example");
    await page.getByLabel(/Date of birth/).fill("1980-02-03");
    await page.getByLabel(/Home address/).fill("1 Main Street\nSpringfield");
    assert.ok(await page.locator("#f-card_front").isHidden(), "insurance questions wait for the answer");
    await page.locator("#f-has_insurance").getByLabel("Yes", { exact: true }).check();
    await page.locator("#f-card_front").waitFor({ state: "visible" });
    await page.getByLabel(/Insurance company/).fill("Acme Health");
    await page.getByLabel(/Member ID/).fill("XQ-12345");
    await page.getByLabel(/Insurance card, front/).setInputFiles({ name: "card.png", mimeType: "image/png", buffer: makePng(120, 76) });
    await checkA11y(page, "form-intake-phone");
    await screenshot(page, "form-intake-phone");
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByRole("heading", { name: "Thank you" }).waitFor();
    clean(patient.problems);

    await staff.page.goto(`${BASE_URL}/c/${conversationId}`);
    await staff.page.locator("li.form-request").filter({ hasText: "New patient intake" }).getByRole("link", { name: "Open submission" }).click();
    const card = staff.page.getByRole("img", { name: "Insurance card, front" });
    await card.waitFor();
    assert.ok(await card.evaluate((el) => el.complete && el.naturalWidth === 120), "the card photo is shown");
    const src = await card.getAttribute("src");
    const bytes = Buffer.from(await staff.page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), src));
    assert.ok(!bytes.includes(Buffer.from("GPSLatitude")), "location metadata removed");
    assert.match(await staff.page.locator("dl.answers").innerText(), /Acme Health/);
    clean(staff.problems);
  });
});

describe("custom forms (admin)", () => {
  let admin;
  before(async () => { admin = await openPage(browser, DESKTOP); });
  after(async () => { await admin?.context.close(); });

  test("the live preview follows the definition as it is typed", async () => {
    const page = admin.page;
    await signInAdmin(page);
    await page.goto(BASE_URL + "/admin/forms");
    const frame = page.frameLocator("#form-preview-frame");
    const definition = {
      key: "e2e-travel",
      title: "Travel history",
      description: "Where you have been lately.",
      fields: [{ id: "countries", label: "Countries visited this year", type: "long_text", required: true }],
    };
    await page.getByLabel("Definition (JSON)").fill(JSON.stringify(definition, null, 2));
    await frame.getByRole("heading", { level: 1, name: "Travel history" }).waitFor();
    await frame.getByLabel(/Countries visited this year/).waitFor();

    // A change shows up without saving; a broken definition says what is wrong.
    definition.fields.push({ id: "fever", label: "Any fever since you came back?", type: "yes_no" });
    await page.getByLabel("Definition (JSON)").fill(JSON.stringify(definition, null, 2));
    await frame.getByText("Any fever since you came back?").waitFor();
    await page.getByLabel("Definition (JSON)").fill("{ \"key\": \"e2e-travel\", ");
    await frame.getByRole("heading", { name: "The form cannot be shown yet" }).waitFor();
    await checkA11y(page, "admin-forms-live-preview");
    await screenshot(page, "admin-forms-live-preview");
    // Nothing was saved by previewing.
    assert.equal(await page.locator('#forms li[data-form-key="e2e-travel"]').count(), 0);
    admin.problems.console = admin.problems.console.filter((m) => !/status of 422/.test(m));
    clean(admin.problems);
  });
});
