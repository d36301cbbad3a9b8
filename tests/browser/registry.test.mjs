// Staff log in, import an .xlsx of deputies, and a deputy's code page opens on a phone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BASE, FIXTURES, launch, desktop, phone, login } from "./browser.mjs";

const fixture = JSON.parse(readFileSync(join(FIXTURES, "fixture.json"), "utf8"));

test("office staff import deputies and a citizen opens a new deputy's code page on a phone", async () => {
  const browser = await launch();
  try {
    const page = await desktop(browser);
    await login(page, "office");
    assert.match(new URL(page.url()).pathname, /^\/staff/);

    await page.goto(`${BASE}/staff/import`);
    await page.selectOption("#kind", "deputies");
    await page.setInputFiles("#file", join(FIXTURES, "deputies.xlsx"));
    // The header has a logout button too: press the import form's own button.
    await Promise.all([page.waitForNavigation(), page.click('main form[enctype="multipart/form-data"] button[type=submit]')]);
    const flash = await page.textContent("body");
    assert.ok(!flash.includes("未导入任何内容"), `import refused: ${flash.slice(0, 2000)}`);
    assert.match(flash, /已导入记录数[^0-9]*2/);

    // Find the imported deputy in the list and open the detail page for its code.
    await page.goto(`${BASE}/staff/deputies?q=${encodeURIComponent(fixture.deputies[0])}`);
    const link = page.locator(`a:has-text("${fixture.deputies[0]}")`).first();
    await Promise.all([page.waitForNavigation(), link.click()]);
    const codeHref = await page.locator('a[href^="/c/d/"]').first().getAttribute("href");
    assert.ok(codeHref, "the deputy's page links to the public code page");

    // A citizen on a phone opens the code page: identity and duties, no phone number.
    const mobile = await phone(browser);
    const resp = await mobile.goto(`${BASE}${codeHref.replace(/\/qr\.(svg|png)$/, "")}`);
    assert.equal(resp.status(), 200);
    const text = await mobile.textContent("body");
    assert.ok(text.includes(fixture.deputies[0]), "shows the deputy's name");
    assert.ok(text.includes(fixture.station), "shows the deputy's station");
    assert.ok(!text.includes("13700000000"), "no phone number on a public page");
    const width = await mobile.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `fits a phone screen without sideways scrolling (${width}px)`);
    await mobile.screenshot({ path: join(FIXTURES, "deputy-code-phone.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});
