// The README's "Live data" example is real code: run it against a server with the simulated DAQ.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtinDevices } from "../../drivers/index.ts";
import { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer } from "../../src/server/index.ts";

let daemon: LabDaemon;
let server: LabDaemonServer;
beforeAll(async () => {
  daemon = new LabDaemon();
  daemon.registerPlugins({ devices: builtinDevices });
  server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent", token: "readme", sse: { resumeGraceMs: 50 } });
  await server.start();
});
afterAll(async () => {
  await server.stop({ timeoutMs: 1000 });
  await daemon.shutdown({ timeoutMs: 1000 });
});

test("the README's Live data example streams the simulated DAQ", async () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Live data"));
  const start = section.indexOf("```ts") + 5;
  const code = section.slice(start, section.indexOf("```", start));
  const dir = mkdtempSync(join(tmpdir(), "ld-live-"));
  const file = join(dir, "live.ts");
  writeFileSync(
    file,
    code.replace(
      `from "labdaemon/client"`,
      `from ${JSON.stringify(join(import.meta.dir, "../../src/client/index.ts"))}`,
    ),
  );
  const p = Bun.spawn([process.execPath, file], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LABDAEMON_URL: server.url, LABDAEMON_TOKEN: "readme" },
  });
  const [out, err, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(err).toBe("");
  expect(exit).toBe(0);
  const n = Number(/^(\d+) samples in 1 s$/m.exec(out)?.[1]);
  // Samples arrived; how many a second is the bench's business, not a test's on a shared machine.
  expect(n).toBeGreaterThan(0);
  const end = Date.now() + 30_000; // a hang guard
  while (daemon.deviceState("daq1").streaming && Date.now() < end) await Bun.sleep(5);
  expect(daemon.deviceState("daq1").streaming).toBe(false); // the last subscriber out stopped it
}, 120_000);
