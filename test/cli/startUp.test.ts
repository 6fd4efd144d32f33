// Start-up is bounded: a config module that never finishes loading, a setup() that never returns and
// a signal while either is pending all end it with a message instead of a hang or a silent exit. A
// signal at any point of start-up stops what was started, and a failure there is one line.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, fromObject, loadConfigFile } from "../../src/cli/config.ts";
import { buildLab, LabStartError } from "../../src/cli/lab.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

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

/** Reads a child's stream as it comes: `until(text)` resolves once the output so far contains `text`. */
function follow(stream: ReadableStream<Uint8Array>) {
  let text = "";
  let done = false;
  let grew = () => {};
  const ended = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      grew();
    }
    done = true;
    grew();
    return text;
  })();
  return {
    ended,
    async until(wanted: string) {
      while (!text.includes(wanted)) {
        if (done) throw new Error(`the output ended without '${wanted}': ${text}`);
        await new Promise<void>((r) => (grew = r));
      }
    },
  };
}

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
  const proc = spawnServe(["--config", f, "--port", "0"]);
  const stderr = follow(proc.stderr);
  await stderr.until("setup started\n");
  const signalled = performance.now();
  proc.kill("SIGINT");
  expect(await proc.exited).toBe(130);
  // setup() never settles: serve ended on the signal, not on anything setup did.
  expect(performance.now() - signalled).toBeLessThan(30_000);
  expect(await stderr.ended).toBe("setup started\nlabdaemon: SIGINT during start-up, exiting\n");
});

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
  expect(stderr).toMatch(/^Error: the chiller did not answer\n\s+at .*setupfails-debug\.ts:1:/);
  expect(stderr.trimEnd().split("\n").at(-1)).toBe(`labdaemon: ${f}: setup() failed: the chiller did not answer`);
});

/** Devices that say on stderr when they connect and disconnect; Slow connects only once a SIGINT came. */
const DEVICES = `class Quick {
  constructor(readonly id: string, p: object) {}
  connect() { console.error(\`\${this.id} connected\`); }
  disconnect() { console.error(\`\${this.id} disconnected\`); }
}
class Slow extends Quick {
  connect() {
    console.error(\`\${this.id} connecting\`);
    return new Promise<void>((done) => process.once("SIGINT", () => done()));
  }
}
`;

test("SIGINT while a device connects disconnects the devices connected so far, and that one once it connects; status 130", async () => {
  const f = join(dir, "slowconnect.ts");
  writeFileSync(
    f,
    `${DEVICES}export default { plugins: { devices: { Quick, Slow } }, devices: {
  quick: { type: "Quick", connect: true }, slow: { type: "Slow", connect: true }, later: { type: "Quick", connect: true } } };\n`,
  );
  const proc = spawnServe(["--config", f, "--port", "0", "--data-dir", join(dir, "data-slow")]);
  const stderr = follow(proc.stderr);
  await stderr.until("slow connecting\n");
  proc.kill("SIGINT");
  expect(await proc.exited).toBe(130);
  expect(await stderr.ended).toBe(
    "quick connected\nslow connecting\nlabdaemon: SIGINT during start-up, exiting\nquick disconnected\nslow disconnected\n",
  );
  expect(await new Response(proc.stdout).text()).toBe("");
});

test("SIGTERM after the lab is built, before the server listens: devices disconnected, setup's cleanup run, never served; status 143", async () => {
  const f = join(dir, "signalaftersetup.ts");
  writeFileSync(
    f,
    `${DEVICES}export default { plugins: { devices: { Quick } }, devices: { quick: { type: "Quick", connect: true } },
  setup: () => { process.kill(process.pid, "SIGTERM"); return () => console.error("cleanup ran"); } };\n`,
  );
  const proc = spawnServe(["--config", f, "--port", "0", "--data-dir", join(dir, "data-after")]);
  const [status, stderr, stdout] = await Promise.all([
    proc.exited,
    new Response(proc.stderr).text(),
    new Response(proc.stdout).text(),
  ]);
  expect({ status, stderr }).toEqual({
    status: 143,
    stderr: "quick connected\nlabdaemon: SIGTERM during start-up, exiting\nquick disconnected\ncleanup ran\n",
  });
  expect(stdout).not.toContain("labdaemon serving");
});

test("serve on a port already in use says so in one line before building the lab: nothing connected or created, status 1", async () => {
  const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const f = join(dir, "taken.ts");
  writeFileSync(
    f,
    `${DEVICES}export default { plugins: { devices: { Quick } }, devices: { quick: { type: "Quick", connect: true } } };\n`,
  );
  try {
    for (const [args, data] of [
      [["--sim"], join(dir, "data-taken-sim")],
      [["--config", f], join(dir, "data-taken-config")],
    ] as const) {
      const proc = spawnServe([...args, "--port", String(holder.port), "--data-dir", data]);
      const [status, stderr, stdout] = await Promise.all([
        proc.exited,
        new Response(proc.stderr).text(),
        new Response(proc.stdout).text(),
      ]);
      expect({ args, status, stdout, stderr }).toEqual({
        args,
        status: 1,
        stdout: "",
        stderr: `labdaemon: port ${holder.port} on 127.0.0.1 is already in use (choose another with --port)\n`,
      });
      expect(existsSync(data)).toBe(false);
    }
  } finally {
    holder.stop(true);
  }
});
