// Start-up is bounded: a config module that never finishes loading, a setup() that never returns and
// a signal while either is pending all end it with a message instead of a hang or a silent exit.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, fromObject, loadConfigFile } from "../../src/cli/config.ts";
import { buildLab, LabStartError } from "../../src/cli/lab.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

test("a TS config whose top-level await never settles is a config error after the deadline", async () => {
  const f = join(dir, "never.ts");
  writeFileSync(f, "await new Promise(() => {});\nexport default { devices: {} };\n");
  const e = await loadConfigFile(f, undefined, { timeoutMs: 200 }).then(
    () => null,
    (err) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toBe(
    `${f}: the module did not finish loading within 200 ms (a top-level await that never settles?)`,
  );
});

test("a setup() that never settles is a start error after the deadline", async () => {
  const loaded = fromObject(
    { devices: { laser: { type: "SimLaser", connect: true } }, setup: () => new Promise(() => {}) },
    "hang.ts",
  );
  const e = await buildLab(loaded, { setupTimeoutMs: 200 }).then(
    () => null,
    (err) => err,
  );
  expect(e).toBeInstanceOf(LabStartError);
  expect(e.message).toBe("hang.ts: setup() did not finish within 200 ms");
});

test("SIGINT while setup() is pending ends serve at once with status 130", async () => {
  const f = join(dir, "setuphang.ts");
  writeFileSync(
    f,
    "export default { devices: {}, setup: () => { console.error('setup started'); return new Promise(() => {}); } };\n",
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("LABDAEMON_")) env[k] = v;
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--config", f, "--port", "0"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: 60_000,
  });
  let stderr = "";
  const decoder = new TextDecoder();
  const reader = proc.stderr.getReader();
  while (!stderr.includes("setup started\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value, { stream: true });
  }
  const signalled = performance.now();
  proc.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value, { stream: true });
  }
  expect(await proc.exited).toBe(130);
  // setup() never settles: serve ended on the signal, not on anything setup did.
  expect(performance.now() - signalled).toBeLessThan(30_000);
  expect(stderr).toBe("setup started\nlabdaemon: SIGINT during start-up, exiting\n");
});
