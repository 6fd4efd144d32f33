// Swagger UI in real Chromium under its page policy: it renders every route, tries one out with the token,
// breaks no rule of the policy, loads nothing from elsewhere, and cannot be framed by another page.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openBrowser, type BrowserSession } from "../support/browser.ts";
import { startSimLabServer, type SimLabServer } from "../support/simLabServer.ts";

const WAIT = { timeout: 20_000 };
let b: BrowserSession;
let lab: SimLabServer;
beforeAll(async () => {
  b = await openBrowser();
  lab = await startSimLabServer({ token: "sw4gger-token" });
}, 60_000);
afterAll(async () => {
  await lab?.[Symbol.asyncDispose]();
  await b?.[Symbol.asyncDispose]();
});

test("Swagger UI renders and executes a request with the token, with no policy violation and nothing fetched from elsewhere", async () => {
  const violations: string[] = [];
  const page = b.page;
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const res = await page.goto(`${lab.server.url}/swagger?token=sw4gger-token`);
  expect(res?.headers()["cache-control"]).toBe("no-store");
  expect(res?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  await page.locator(".opblock").first().waitFor(WAIT);
  const health = page.locator(".opblock-get", { hasText: "/devices" }).first();
  await health.locator(".opblock-summary").click();
  await health.locator("button.try-out__btn").click();
  await health.locator("button.execute").click();
  await health.locator(".responses-table .response .response-col_status", { hasText: "200" }).first().waitFor(WAIT);
  expect(violations).toEqual([]);
  expect(b.foreignRequests()).toEqual([]);
});
