// The dashboard when its server goes away and comes back, or ends a stream on purpose, in real Chromium:
// what the page shows afterwards is what the server says now, not what it said before the break.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SimDaq } from "../../drivers/index.ts";
import { DataStore } from "../../src/data/dataStore.ts";
import { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer } from "../../src/server/index.ts";
import { buildPages } from "../../tools/webBuild.ts";
import { tempDataDir, Waits } from "../data/support.ts";
import { openBrowser, type BrowserSession } from "../support/browser.ts";
import { startSimLabServer } from "../support/simLabServer.ts";

const WAIT = { timeout: 15_000 };

await buildPages(`${import.meta.dir}/../..`);

/** A streaming DAQ and a task that waits to be cancelled, served with a data directory on `port` (0: any). */
async function serveLab(dir: string, port: number, token?: string) {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { SimDaq }, tasks: { Waits } });
  const params = { sampleRate: 5000, batchSize: 250, dtype: "float32" };
  daemon.addDevice("daq1", "SimDaq", params);
  await daemon.connectDevice("daq1");
  const data = await DataStore.open(daemon, { dir, devices: { daq1: { type: "SimDaq", params } } });
  const server = new LabDaemonServer(daemon, { port, logLevel: "silent", data, token });
  await server.start();
  return {
    server,
    async close() {
      await server.stop({ timeoutMs: 2000 });
      await daemon.shutdown({ timeoutMs: 2000 });
      await data.close(2000);
    },
  };
}

let b: BrowserSession;
beforeAll(async () => {
  b = await openBrowser({ viewport: { width: 1400, height: 1000 } });
}, 60_000);
afterAll(async () => {
  expect(b?.foreignRequests()).toEqual([]);
  await b?.[Symbol.asyncDispose]();
});

describe("dashboard across a server restart", () => {
  test("a server back with another token: the page asks for the token again instead of 'reconnecting' for good", async () => {
    const dir = tempDataDir();
    let lab = await serveLab(dir, 0, "first-token");
    const port = lab.server.port;
    try {
      const page = await b.context.newPage();
      page.setDefaultTimeout(WAIT.timeout);
      await page.goto(`${lab.server.url}/ui`);
      await page.locator("#token").fill("first-token");
      await page.locator(".token-form button[type=submit]").click();
      await page.locator("dd", { hasText: "live" }).waitFor(WAIT);
      await lab.close();
      lab = await serveLab(dir, port, "second-token");
      await page.locator(".token-wrong").waitFor(WAIT);
      await page.locator("#token").fill("second-token");
      await page.locator(".token-form button[type=submit]").click();
      await page.locator("dd", { hasText: "live" }).waitFor(WAIT);
      await page.close();
    } finally {
      await lab.close();
    }
  }, 60_000);
  test("a task that ended during the break shows its end, the plot streams again without the old error, the recordings list recovers", async () => {
    const dir = tempDataDir();
    let lab = await serveLab(dir, 0);
    const port = lab.server.port;
    try {
      const page = await b.context.newPage();
      page.setDefaultTimeout(WAIT.timeout);
      await page.goto(`${lab.server.url}/ui`);
      await page.locator('[data-device="daq1"] button.plot').click();
      const plot = page.locator('.live-plot[data-plot="daq1"]');
      await plot.locator(".state", { hasText: "open" }).waitFor(WAIT);
      await page.locator("dd", { hasText: "live" }).waitFor(WAIT);
      const started = await fetch(`${lab.server.url}/tasks`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ task_id: "w1", task_type: "Waits" }),
      });
      expect(started.status).toBe(200);
      await page.locator('[data-task="w1"][data-status="running"]').waitFor(WAIT);
      await page.locator("section.runs table").waitFor(WAIT);

      // The server stops (its shutdown cancels w1 after the streams have closed: the page never hears of it).
      await lab.close();
      await plot.locator(".stream-error").waitFor(WAIT);
      await page.locator("section.runs .error").waitFor(WAIT);
      expect(await page.locator('[data-task="w1"]').getAttribute("data-status")).toBe("running");

      lab = await serveLab(dir, port);
      await page.locator('[data-task="w1"][data-status="cancelled"]').waitFor(WAIT);
      await page.locator("section.runs .error").waitFor({ state: "detached", ...WAIT });
      await plot.locator(".stream-error").waitFor({ state: "detached", ...WAIT });
      expect(await plot.locator(".state").textContent()).toBe("open");
      await page.close();
    } finally {
      await lab.close();
    }
  }, 90_000);
});

describe("dashboard: a stream stopped on request", () => {
  test("its plot ends there, saying why, instead of asking for the stream again and again", async () => {
    await using lab = await startSimLabServer();
    const page = await b.context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    const asked: number[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/stream/devices/daq1") asked.push(Date.now());
    });
    await page.goto(`${lab.url}/ui`);
    await page.locator('[data-device="daq1"] button.plot').click();
    const plot = page.locator('.live-plot[data-plot="daq1"]');
    await plot.locator(".state", { hasText: "open" }).waitFor(WAIT);
    expect((await fetch(`${lab.url}/devices/daq1/stream/stop`, { method: "POST" })).status).toBe(200);
    // The reconnect is answered 204: the server asks not to come back, and the page does not.
    await plot.locator(".state", { hasText: "closed" }).waitFor(WAIT);
    expect(await plot.locator(".stream-error").textContent()).toContain("StreamStopped");
    expect(asked).toHaveLength(2);
    expect(lab.daemon.deviceState("daq1").streaming).toBe(false);
    await page.close();
  }, 60_000);
});
