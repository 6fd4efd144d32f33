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

/** serve run from the sources with no LABDAEMON_* variable of the test's environment. */
function spawnServe(args: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("LABDAEMON_")) env[k] = v;
  return Bun.spawn([process.execPath, MAIN, "serve", ...args], {
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: 60_000,
  });
}

test("a device whose connect() throws and a setup() that throws are one line naming them and the message, exit 1", async () => {
  const connectFails = join(dir, "connectfails.ts");
  writeFileSync(
    connectFails,
    "class Flaky { constructor(id: string, p: object) {}\n  async connect() { throw new Error('VISA error\\nVI_ERROR_TMO (-1073807339)'); } }\n" +
      "export default { plugins: { devices: { Flaky } }, devices: { f1: { type: 'Flaky', connect: true } } };\n",
  );
  const setupFails = join(dir, "setupfails.ts");
  writeFileSync(
    setupFails,
    "export default { devices: {}, setup: () => { throw new TypeError('the chiller did not answer'); } };\n",
  );
  for (const [file, line] of [
    [
      connectFails,
      `labdaemon: ${connectFails}:3:62: device 'f1' (Flaky) failed to connect: VISA error VI_ERROR_TMO (-1073807339)\n`,
    ],
    [setupFails, `labdaemon: ${setupFails}: setup() failed: TypeError: the chiller did not answer\n`],
  ] as const) {
    const proc = spawnServe(["--config", file, "--port", "0"]);
    const stderr = await new Response(proc.stderr).text();
    expect({ file, status: await proc.exited, stderr }).toEqual({ file, status: 1, stderr: line });
  }
});

test("--log-level debug adds the stack of a setup() that throws, before the one line", async () => {
  const f = join(dir, "setupfails-debug.ts");
  writeFileSync(
    f,
    "export default { devices: {}, setup: () => { throw new Error('the chiller did not answer'); } };\n",
  );
  const proc = spawnServe(["--config", f, "--port", "0", "--log-level", "debug"]);
  const stderr = await new Response(proc.stderr).text();
  expect(await proc.exited).toBe(1);
  expect(stderr).toMatch(new RegExp(`^Error: the chiller did not answer\\n\\s+at .*setupfails-debug\\.ts:1:`));
  expect(stderr.trimEnd().split("\n").at(-1)).toBe(`labdaemon: ${f}: setup() failed: the chiller did not answer`);
});
