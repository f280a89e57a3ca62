// The landing page, as someone opening Frontdesk for the first time sees it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE_URL, VIEWPORTS, assertClean, launch, openPage, screenshot } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const vp of VIEWPORTS) {
  describe(`home page (${vp.name})`, () => {
    test("renders, links to the simulator, and the link works", async () => {
      const { context, page, problems } = await openPage(browser, vp);
      try {
        const response = await page.goto(BASE_URL + "/");
        assert.equal(response.status(), 200);
        assert.match(await page.title(), /Frontdesk/);
        await page.getByRole("heading", { level: 1 }).waitFor();
        assert.equal(await page.getByText("Frontdesk is running.").count(), 1);
        const link = page.getByRole("link", { name: /simulator/i });
        assert.equal(await link.count(), 1, "one link to the simulator");
        // Nothing is wider than the screen: no sideways scrolling on a phone.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
        await screenshot(page, `home-${vp.name}`);
        await link.click();
        await page.waitForURL(BASE_URL + "/simulator");
        await page.getByRole("heading", { level: 1, name: /^Text / }).waitFor();
        assertClean(problems);
      } finally {
        await context.close();
      }
    });
  });
}
