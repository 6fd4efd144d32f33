// The dashboard's recordings panel on a server with a data directory: a finished recording is listed and
// its HDF5 file downloads byte for byte; a server without a data directory shows no panel.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { buildPages } from "../../tools/webBuild.ts";
import { openBrowser, type BrowserSession } from "../support/browser.ts";
import { startDataServer, tempDataDir, until, type DataServer } from "../data/support.ts";
import { startSimLabServer } from "../support/simLabServer.ts";

await buildPages(`${import.meta.dir}/../..`);

let s: DataServer;
let b: BrowserSession;
beforeAll(async () => {
  s = await startDataServer(tempDataDir());
  b = await openBrowser();
}, 60_000);
afterAll(async () => {
  expect(b?.foreignRequests()).toEqual([]);
  await b?.[Symbol.asyncDispose]();
  await s?.close();
});

test("a finished recording is listed and its .h5 downloads byte for byte", async () => {
  const rec = await s.req("POST", "/devices/daq1/record", { name: "panel", duration_s: 0.3 });
  expect(rec.status).toBe(200);
  const runId = rec.body.run_id as string;
  await until(async () => (await s.req("GET", `/runs/${runId}`)).body?.status === "completed", "the recording's end");
  const file = new Uint8Array(await (await fetch(`${s.url}/runs/${runId}/file`)).arrayBuffer());

  const page = b.page;
  page.setDefaultTimeout(15_000);
  await page.goto(`${s.url}/ui`);
  const row = page.locator(`[data-run="${runId}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain("device daq1");
  const [download] = await Promise.all([page.waitForEvent("download"), row.locator("button").click()]);
  expect(download.suggestedFilename()).toBe(`${runId}.h5`);
  const saved = new Uint8Array(readFileSync((await download.path())!));
  expect(saved.length).toBe(file.length);
  expect(Buffer.from(saved).equals(Buffer.from(file))).toBe(true);
}, 60_000);

test("a server without a data directory shows no recordings panel", async () => {
  await using lab = await startSimLabServer();
  const page = await b.context.newPage();
  await page.goto(`${lab.url}/ui`);
  await page.locator("[data-device]").first().waitFor({ timeout: 15_000 });
  // The panel shows "Loading…" until GET /runs answers; a 404 there removes it.
  await page.waitForFunction("document.querySelector('section.runs') === null", undefined, { timeout: 15_000 });
  expect(await page.locator("section.runs").count()).toBe(0);
  await page.close();
}, 60_000);
