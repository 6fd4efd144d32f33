// The dashboard in real Chromium against the built-in simulated lab on a loopback port: what a person
// sees and does there (device state, method forms, a sweep with its progress bar, live plots, the token)
// is what the public API says and does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { buildPages } from "../../tools/webBuild.ts";
import { openBrowser, type BrowserSession } from "../support/browser.ts";
import { startTestServer } from "../support/apiServer.ts";
import { StubbornTask } from "../support/fixtures.ts";
import { startSimLabServer, type SimLabServer } from "../support/simLabServer.ts";

const WAIT = { timeout: 15_000 };

await buildPages(`${import.meta.dir}/../..`);

async function openDashboard(b: BrowserSession, url: string): Promise<Page> {
  const page = b.page;
  page.setDefaultTimeout(WAIT.timeout);
  await page.goto(`${url}/`);
  expect(new URL(page.url()).pathname).toBe("/ui");
  return page;
}

describe("dashboard on the simulated lab", () => {
  let lab: SimLabServer;
  let b: BrowserSession;
  beforeAll(async () => {
    lab = await startSimLabServer();
    b = await openBrowser({ viewport: { width: 1400, height: 1000 } });
  }, 60_000);
  afterAll(async () => {
    expect(b.foreignRequests()).toEqual([]);
    await b?.[Symbol.asyncDispose]();
    await lab?.[Symbol.asyncDispose]();
  });

  test("every device appears with the state GET /devices reports", async () => {
    const { devices } = (await (await fetch(`${lab.url}/devices`)).json()) as {
      devices: {
        device_id: string;
        device_type: string;
        connected: boolean;
        streaming: boolean;
        owned_by: string | null;
      }[];
    };
    expect(devices.map((d) => d.device_id).sort()).toEqual(["daq1", "dmm1", "laser1", "pm1"]);
    const page = await openDashboard(b, lab.url);
    for (const d of devices) {
      const card = page.locator(`[data-device="${d.device_id}"]`);
      await card.waitFor(WAIT);
      expect(await card.locator(".device-type").textContent()).toBe(d.device_type);
      expect(await card.locator(".connected").textContent()).toBe(d.connected ? "yes" : "no");
      expect(await card.locator(".streaming").textContent()).toBe(d.streaming ? "yes" : "no");
      expect(await card.locator(".owner").textContent()).toBe("—");
      expect(await card.locator(".light").textContent()).toBe("connected");
    }
    expect(await page.locator("[data-device]").count()).toBe(devices.length);
  }, 60_000);

  test("a method called through its generated form shows the device's answer", async () => {
    const page = await openDashboard(b, lab.url);
    const form = page.locator('[data-device="dmm1"] form[data-method="query"]');
    await form.locator('input[name="command"]').fill("*IDN?");
    await form.locator('button[type="submit"]').click();
    await form.locator(".result").waitFor(WAIT);
    expect(await form.locator(".result").textContent()).toContain('"LabDaemon,SimDMM,0001,1.0"');
  }, 60_000);

  test("an argument outside the method's schema shows the server's 422 envelope", async () => {
    const page = await openDashboard(b, lab.url);
    const form = page.locator('[data-device="laser1"] form[data-method="setWavelength"]');
    await form.locator('input[name="nm"]').fill("9999");
    await form.locator('button[type="submit"]').click();
    const error = form.locator(".error");
    await error.waitFor(WAIT);
    expect(await error.locator("strong").textContent()).toBe("422 ValidationError");
    expect((await lab.daemon.call("laser1", "getWavelength")) as number).toBe(1550);
  }, 60_000);

  test("SweepTask: its devices' forms lock while it runs (a forced call shows 409), its bar reaches 100 % and its result is plotted", async () => {
    const page = await openDashboard(b, lab.url);
    await page.locator("#task-type").selectOption("SweepTask");
    await page.locator("#task-id").fill("sweep-ui");
    await page.locator("#t-SweepTask-steps").fill("20");
    await page.locator("#t-SweepTask-dwell_ms").fill("200");
    await page.locator(".start-task button.start").click();
    const task = page.locator('[data-task="sweep-ui"]');
    await task.waitFor(WAIT);
    // Paused, the task keeps its devices: the check below cannot race the sweep's end.
    await task.locator("button.pause").click();
    await page.locator('[data-task="sweep-ui"][data-status="paused"]').waitFor(WAIT);

    const laser = page.locator('[data-device="laser1"]');
    await laser.locator(".owner", { hasText: "task sweep-ui" }).waitFor(WAIT);
    const call = laser.locator('form[data-method="getWavelength"] button[type="submit"]');
    expect(await call.evaluate((el) => el.matches(":disabled"))).toBe(true);
    expect(await laser.locator(".owned-note").textContent()).toContain("Owned by task sweep-ui");
    await laser.locator("input.force").check();
    expect(await call.evaluate((el) => el.matches(":disabled"))).toBe(false);
    await call.click();
    const refused = laser.locator('form[data-method="getWavelength"] .error');
    await refused.waitFor(WAIT);
    expect(await refused.locator("strong").textContent()).toMatch(/^409 /);

    await task.locator("button.resume").click();
    await page.locator('[data-task="sweep-ui"][data-status="completed"]').waitFor({ timeout: 30_000 });
    expect(await task.locator(".pct").textContent()).toBe("100 %");
    expect(await task.locator("progress").getAttribute("value")).toBe("100");
    await task.locator(".series-plot canvas").first().waitFor(WAIT);
    await laser.locator(".owner", { hasText: "—" }).waitFor(WAIT);
    expect(await call.evaluate((el) => el.matches(":disabled"))).toBe(false);
  }, 60_000);

  test("the DAQ's live plot redraws: its canvas differs between two screenshots 0.5 s apart (and not when paused)", async () => {
    const page = await openDashboard(b, lab.url);
    await page.locator('[data-device="daq1"] button.plot').click();
    const plot = page.locator('.live-plot[data-plot="daq1"]');
    await plot.locator(".state", { hasText: "open" }).waitFor(WAIT);
    await plot.locator('.stream-stats[data-events]:not([data-events="0"])').waitFor(WAIT);
    await page.locator('[data-device="daq1"] .streaming', { hasText: "yes" }).waitFor(WAIT);
    const chart = plot.locator(".chart");
    const first = await chart.screenshot();
    await page.waitForTimeout(500);
    const second = await chart.screenshot();
    expect(first.equals(second)).toBe(false);
    expect(await plot.locator(".gaps").textContent()).toContain("gaps");
    // Paused, the trace holds still while the stream goes on.
    await plot.locator("button.pause").click();
    await plot.locator('button.pause[aria-pressed="true"]').waitFor(WAIT);
    const held = await chart.screenshot();
    await page.waitForTimeout(500);
    expect((await chart.screenshot()).equals(held)).toBe(true);
  }, 60_000);
});

describe("dashboard on the simulated lab: many live plots", () => {
  test("at most four live plots are open at once, so the page's own requests always have a connection to go on", async () => {
    await using lab = await startSimLabServer();
    await using b = await openBrowser({ viewport: { width: 1400, height: 1000 } });
    const page = await openDashboard(b, lab.url);
    const plotButton = page.locator('[data-device="daq1"] button.plot');
    for (let i = 0; i < 4; i++) await plotButton.click();
    await page.locator(".live-plot .state", { hasText: "open" }).nth(3).waitFor(WAIT);
    // A browser opens six connections to one server: four streams and the task feed leave one.
    expect(await plotButton.evaluate((el) => el.matches(":disabled"))).toBe(true);
    expect(await page.locator(".add-plot button[type=submit]").evaluate((el) => el.matches(":disabled"))).toBe(true);
    expect(await page.locator(".plots-full").textContent()).toContain("Close one to open another");
    const form = page.locator('[data-device="laser1"] form[data-method="getWavelength"]');
    await form.locator('button[type="submit"]').click();
    await form.locator(".result").waitFor(WAIT);
    expect(await form.locator(".result").textContent()).toContain("1550");
    await page.locator(".live-plot button.close").first().click();
    expect(await plotButton.evaluate((el) => el.matches(":disabled"))).toBe(false);
    expect(await page.locator(".plots-full").count()).toBe(0);
  }, 60_000);
});

describe("dashboard on the simulated lab: a device that cannot stream", () => {
  test("its plot says why, with the server's envelope", async () => {
    await using lab = await startSimLabServer();
    await using b = await openBrowser();
    const page = await openDashboard(b, lab.url);
    await page.locator("#plot-device").selectOption("laser1");
    await page.locator(".add-plot button[type=submit]").click();
    const error = page.locator('.live-plot[data-plot="laser1"] .stream-error');
    await error.waitFor(WAIT);
    expect(await error.textContent()).toMatch(/^400 \w+: /);
  }, 60_000);
});

describe("dashboard on a server with a token", () => {
  test("asks for the token, says so clearly when it is wrong, and works once it is right", async () => {
    await using lab = await startSimLabServer({ token: "s3cret-token" });
    await using b = await openBrowser();
    const page = await openDashboard(b, lab.url);
    const input = page.locator("#token");
    await input.waitFor(WAIT);
    await input.fill("not-the-token");
    await page.locator(".token-form button[type=submit]").click();
    await page.locator(".token-wrong").waitFor(WAIT);
    expect(await page.locator(".token-wrong").textContent()).toContain("Wrong token");
    expect(await page.locator("[data-device]").count()).toBe(0);

    await page.locator("#token").fill("s3cret-token");
    await page.locator(".token-form button[type=submit]").click();
    await page.locator('[data-device="laser1"]').waitFor(WAIT);
    expect(await page.locator(".token-state").textContent()).toContain("required");
    // The task feed is an EventSource: it carries the token as ?token=.
    await page.locator("dd", { hasText: "live" }).waitFor(WAIT);
    await page.locator('[data-device="daq1"] button.plot').click();
    await page.locator('.live-plot[data-plot="daq1"] .state', { hasText: "open" }).waitFor(WAIT);
    expect(b.foreignRequests()).toEqual([]);
  }, 60_000);
});

describe("dashboard: failures, lifecycle and task controls", () => {
  test("a device's last error shows with its traceback on demand and goes with Clear; connect/disconnect buttons work", async () => {
    const s = await startTestServer();
    try {
      s.daemon.addDevice("m1", "MockDevice");
      await s.daemon.connectDevice("m1");
      await using b = await openBrowser();
      const page = await openDashboard(b, s.url);
      const card = page.locator('[data-device="m1"]');
      const form = card.locator('form[data-method="fail"]');
      await form.locator('input[name="message"]').fill("laser interlock open");
      await form.locator('button[type="submit"]').click();
      await form.locator(".error").waitFor(WAIT);
      expect(await form.locator(".error strong").textContent()).toBe("400 RangeError");
      const last = card.locator(".last-error");
      await last.waitFor(WAIT);
      expect(await last.textContent()).toContain("laser interlock open");
      expect(await card.locator(".light").textContent()).toBe("error");
      await last.locator("button", { hasText: "Traceback" }).click();
      await last.locator("pre.traceback").waitFor(WAIT);
      expect(await last.locator("pre.traceback").textContent()).toContain("RangeError: laser interlock open");
      await last.locator("button.clear-error").click();
      await last.waitFor({ state: "detached", ...WAIT });
      expect((await s.req("GET", "/devices/m1/error")).status).toBe(404);

      await card.locator("button.disconnect").click();
      await card.locator(".connected", { hasText: "no" }).waitFor(WAIT);
      expect(s.daemon.deviceState("m1").connected).toBe(false);
      await card.locator("button.connect").click();
      await card.locator(".connected", { hasText: "yes" }).waitFor(WAIT);
      expect(s.daemon.deviceState("m1").connected).toBe(true);
      expect(b.foreignRequests()).toEqual([]);
    } finally {
      await s.close();
    }
  }, 60_000);

  test("a failed task shows its error and traceback; a task that ignores Cancel ends with Force cancel", async () => {
    const s = await startTestServer();
    try {
      await using b = await openBrowser();
      const page = await openDashboard(b, s.url);
      await page.locator("#task-type").selectOption("FailingTask");
      await page.locator("#task-id").fill("doomed");
      await page.locator("#raw-params").fill('{"message": "no light at the detector"}');
      await page.locator(".start-task button.start").click();
      const failed = page.locator('[data-task="doomed"][data-status="failed"]');
      await failed.waitFor(WAIT);
      expect(await failed.locator(".task-error").textContent()).toContain("no light at the detector");
      await failed.locator(".task-error button", { hasText: "Traceback" }).click();
      await failed.locator("pre.traceback").waitFor(WAIT);
      expect(await failed.locator("pre.traceback").textContent()).toContain("RangeError");

      await page.locator("#task-type").selectOption("StubbornTask");
      await page.locator("#task-id").fill("stubborn");
      await page.locator(".start-task button.start").click();
      const task = page.locator('[data-task="stubborn"]');
      await page.locator('[data-task="stubborn"][data-status="running"]').waitFor(WAIT);
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/tasks/stubborn/cancel")),
        task.locator("button.cancel").click(),
      ]);
      expect(s.daemon.getTask("stubborn").isRunning()).toBe(true);
      await task.locator("button.force-cancel").click();
      await page.locator('[data-task="stubborn"][data-status="cancelled"]').waitFor(WAIT);
      expect(s.daemon.getTask("stubborn").status).toBe("cancelled");
    } finally {
      StubbornTask.release?.();
      await s.close();
    }
  }, 60_000);
});
