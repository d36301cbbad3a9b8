// Shared set-up for the browser tests: Debian's Chromium, headless, with the flags this
// sandbox needs (no sandbox as root, no background network); playwright gives every
// launch a fresh temporary profile.
import { chromium } from "playwright-core";

export const BASE = process.env.YIDU_BASE_URL ?? "http://127.0.0.1:8080";
export const FIXTURES = process.env.YIDU_FIXTURES ?? ".";
export const PASSWORD = process.env.YIDU_DEMO_PASSWORD ?? "Yidu@2026demo";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A phone-sized page, as a citizen or a deputy would hold it. */
export async function phone(browser) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
  });
  return context.newPage();
}

export async function desktop(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "zh-CN" });
  return context.newPage();
}

export async function login(page, username) {
  await page.goto(`${BASE}/login`);
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("main form button[type=submit]")]);
}
