// One citizen's item end to end: a citizen on a phone scans a deputy's code, reports a
// problem with a photo and gets a tracking number; the deputy accepts it and assigns it
// to a unit; the unit takes it and replies; the citizen reads the reply and rates it;
// the cockpit's counts go up by one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BASE, FIXTURES, PASSWORD, launch, desktop, phone, login } from "./browser.mjs";

const fixture = JSON.parse(readFileSync(join(FIXTURES, "fixture.json"), "utf8"));
const shot = (name) => join(FIXTURES, name);

/** The cockpit's totals as the district office sees them, through the JSON API. */
async function cockpitTotals() {
  const login = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "office", password: PASSWORD }),
  });
  assert.equal(login.status, 200, "office logs in through the API");
  const { token } = await login.json();
  const resp = await fetch(`${BASE}/api/v1/cockpit`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(resp.status, 200, "the cockpit answers");
  return (await resp.json()).totals;
}

/** Clicks something that navigates and waits for the new page to load. */
async function go(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.click()]);
}

/** Walks a queue's pages until the item with this tracking number shows, and opens it. */
async function openFromQueue(page, queuePath, trackingNo) {
  await page.goto(`${BASE}${queuePath}`);
  for (let i = 0; i < 200; i++) {
    const link = page.locator(`main table a:text-is("${trackingNo}")`);
    if ((await link.count()) > 0) {
      await go(page, link.first());
      return;
    }
    const next = page.locator('main .pager a:has-text("下一页")');
    assert.ok((await next.count()) > 0, `${trackingNo} is in ${queuePath}`);
    await go(page, next.first());
  }
  assert.fail(`${trackingNo} not found in ${queuePath}`);
}

/** Opens one move's form on the detail page (each sits in a <details>), fills it, sends it. */
async function move(page, action, fill = async () => {}) {
  const box = page.locator(`main details:has(input[name="action"][value="${action}"])`);
  assert.equal(await box.count(), 1, `the move "${action}" is offered`);
  if ((await box.getAttribute("open")) === null) {
    await box.locator("summary").click();
  }
  await fill(box);
  await go(page, box.locator("form button[type=submit]"));
}

async function statusTag(page) {
  return (await page.textContent("main #status")).trim();
}

test("a citizen's item from a deputy code to a rated reply, and the cockpit counts it", async () => {
  const before = await cockpitTotals();
  const title = `楼道灯坏了 ${Date.now()}`;
  const reply = "已安排物业更换楼道灯，今晚恢复照明。";
  const browser = await launch();
  try {
    // The citizen, on a phone: the deputy's code page, then the form behind its button.
    const citizen = await phone(browser);
    const codePage = await citizen.goto(`${BASE}/c/d/${fixture.deputy_code}`);
    assert.equal(codePage.status(), 200);
    await go(citizen, citizen.locator('main a:has-text("向代表反映问题")'));
    assert.equal(new URL(citizen.url()).pathname, `/c/d/${fixture.deputy_code}/new`);

    const category = await citizen
      .locator('#category_id option:not([value=""])')
      .first()
      .getAttribute("value");
    assert.ok(category, "the form offers categories");
    await citizen.selectOption("#category_id", category);
    await citizen.fill("#title", title);
    await citizen.fill("#body", "三号楼二单元楼道灯已经坏了一周，晚上老人上下楼很不方便，请尽快修理。");
    await citizen.fill("#address", "明湖小区三号楼二单元");
    await citizen.setInputFiles("#photos", join(FIXTURES, "photo.png"));
    // No name and no phone: anonymous, so no consent is needed.
    await citizen.screenshot({ path: shot("opinion-form-phone.png"), fullPage: true });
    await go(citizen, citizen.locator("main form button[type=submit]"));

    const trackingNo = (await citizen.textContent("#tracking-no")).trim();
    const queryCode = (await citizen.textContent("#query-code")).trim();
    assert.match(trackingNo, /^\d{6}[0-9A-Z]{6}$/, "a tracking number");
    assert.match(queryCode, /^[0-9A-Z]{6}$/, "a query code");
    const width = await citizen.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the receipt fits a phone screen (${width}px)`);
    await citizen.screenshot({ path: shot("opinion-receipt-phone.png"), fullPage: true });

    // The deputy, on a phone: accepts it and assigns it to the unit.
    const deputy = await phone(browser);
    await login(deputy, "deputy1");
    await openFromQueue(deputy, "/deputy/opinions?status=submitted", trackingNo);
    assert.ok((await deputy.textContent("main h1")).includes(title));
    assert.equal(await deputy.locator("main .photos img").count(), 1, "the photo came with it");
    await deputy.screenshot({ path: shot("opinion-deputy-phone.png"), fullPage: true });
    await move(deputy, "accept");
    assert.equal(await statusTag(deputy), "已受理");
    await move(deputy, "assign", async (box) => {
      await box.locator('select[name="unit_id"]').selectOption(String(fixture.unit_id));
      await box.locator('textarea[name="note"]').fill("请尽快安排维修。");
    });
    assert.equal(await statusTag(deputy), "已交办");
    assert.ok((await deputy.textContent("main dl.fields")).includes(fixture.unit), "assigned to the unit");

    // The unit, at a desk: takes it and replies.
    const unit = await desktop(browser);
    await login(unit, "dept1");
    await openFromQueue(unit, "/staff/opinions?status=assigned", trackingNo);
    await move(unit, "take");
    assert.equal(await statusTag(unit), "办理中");
    await move(unit, "reply", async (box) => {
      await box.locator('textarea[name="note"]').fill(reply);
    });
    assert.equal(await statusTag(unit), "已答复");

    // The citizen tracks it with the number and the code, reads the reply and rates it.
    await citizen.goto(`${BASE}/track`);
    await citizen.fill("#tracking_no", trackingNo);
    await citizen.fill("#code", queryCode);
    await go(citizen, citizen.locator('main form[action="/track"] button[type=submit]'));
    assert.ok((await citizen.textContent("main .reply")).includes(reply), "the reply shows");
    await citizen.check('main input[name="satisfaction"][value="satisfied"]');
    await citizen.screenshot({ path: shot("opinion-reply-phone.png"), fullPage: true });
    await go(citizen, citizen.locator('main form[action="/track/rating"] button[type=submit]'));
    const afterRating = await citizen.textContent("body");
    assert.ok(afterRating.includes("感谢您的评价"), "the rating is thanked for");
    assert.ok(afterRating.includes("已办结"), "a satisfied rating closes the item");
    await citizen.screenshot({ path: shot("opinion-rated-phone.png"), fullPage: true });

    // The cockpit: one more received, replied and satisfied.
    const after = await cockpitTotals();
    assert.equal(after.received, before.received + 1, "received");
    assert.equal(after.replied, before.replied + 1, "replied");
    assert.equal(after.satisfied, before.satisfied + 1, "satisfied");

    // And the office's cockpit page opens with those numbers.
    const office = await desktop(browser);
    await login(office, "office");
    const cockpit = await office.goto(`${BASE}/staff/cockpit`);
    assert.equal(cockpit.status(), 200);
    const tile = (await office.locator("main .tile").first().textContent()).replace(/\s+/g, "");
    assert.equal(tile, `收到${after.received}`, "the page shows the received count");
  } finally {
    await browser.close();
  }
});
