// docs/dashboard.png: the dashboard on the built-in simulated lab with a sweep running and the DAQ's live
// plot open, taken in Debian's Chromium. Usage: bun tools/dashboardScreenshot.ts [out.png]
import { fromObject } from "../src/cli/config.ts";
import { buildLab } from "../src/cli/lab.ts";
import { simLab, SIM_LAB_LABEL } from "../src/cli/simLab.ts";
import { LabDaemonServer } from "../src/server/index.ts";
import { openBrowser } from "../test/support/browser.ts";
import { buildPages } from "./webBuild.ts";

const out = process.argv[2] ?? `${import.meta.dir}/../docs/dashboard.png`;
await buildPages(`${import.meta.dir}/..`);
const lab = await buildLab(fromObject(simLab, SIM_LAB_LABEL));
const server = new LabDaemonServer(lab.daemon, { port: 0, logLevel: "silent" });
await server.start();
try {
  await using b = await openBrowser({ viewport: { width: 1440, height: 1100 } });
  const page = b.page;
  page.setDefaultTimeout(20_000);
  // One finished sweep (its plotted result), then a slow one still running.
  await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ task_id: "sweep-1", task_type: "SweepTask", params: { steps: 61 } }),
  });
  await page.goto(`${server.url}/ui`);
  await page.locator('[data-task="sweep-1"] .series-plot canvas').first().waitFor();
  await page.locator('[data-device="daq1"] button.plot').click();
  await page.locator('.live-plot[data-plot="daq1"] select').selectOption("0.1"); // five periods of the 50 Hz sine
  await page.locator("#task-id").fill("sweep-2");
  await page.locator("#t-SweepTask-steps").fill("200");
  await page.locator("#t-SweepTask-dwell_ms").fill("50");
  await page.locator(".start-task button.start").click();
  await page.locator('[data-task="sweep-2"] .pct', { hasText: /^[3-9]\d %$/ }).waitFor();
  await page.evaluate("scrollTo(0, 0)");
  await page.screenshot({ path: out });
  if (b.foreignRequests().length > 0) throw new Error(`requests left 127.0.0.1: ${b.foreignRequests().join(", ")}`);
  console.log(`wrote ${out}`);
} finally {
  await server.stop({ timeoutMs: 2000 });
  await lab.shutdown(2000);
}
