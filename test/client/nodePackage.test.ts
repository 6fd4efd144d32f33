// The packed client on Node: `npm pack`, the tarball installed into an empty folder, and a plain Node
// script (no TypeScript, no Bun) that drives a live server through "labdaemon/client".
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StubbornTask } from "../support/fixtures.ts";
import { startServer, type Running } from "./support.ts";

const ROOT = join(import.meta.dir, "../..");
const NODE = Bun.which("node");

/** The Node script's own waits (the task's end, three stream events): generous, so load cannot trip them. */
const SCRIPT_WAIT_MS = 120_000;

const SCRIPT = `
import { ServerAPI, SSEClient, ServerAPIError } from "labdaemon/client";
const url = process.argv[2];
const WAIT_MS = ${SCRIPT_WAIT_MS};
const api = new ServerAPI(url);
const out = {};
out.devices = (await api.listDevices()).devices.map((d) => d.device_id).sort();
out.sum = await api.callDeviceMethod("dev1", "addNumbers", [2, 3]);
await api.executeTask("t1", "MockTask", { delay: 5 });
// Bounds here are hang guards for a loaded machine, not speeds: the test asserts on what arrives.
const taskDeadline = Date.now() + WAIT_MS;
while (!out.task && Date.now() < taskDeadline) {
  const t = await api.getTask("t1");
  if (t.status !== "running") out.task = { status: t.status, result: t.result };
  else await new Promise((r) => setTimeout(r, 10));
}
out.sequences = await new Promise((resolve, reject) => {
  const seen = [];
  const timer = setTimeout(() => reject(new Error("no three events within " + WAIT_MS + " ms")), WAIT_MS);
  const stream = new SSEClient(url, {
    onEvent: (e) => {
      // Events keep arriving until the stop is through: the first three are the ones asserted on.
      if (seen.length === 3) return;
      seen.push(e.sequence);
      if (seen.length === 3) { clearTimeout(timer); stream.stopStream().then(() => resolve(seen)); }
    },
    onError: (err) => { clearTimeout(timer); reject(err); },
  });
  stream.startDeviceStream("s1");
});
await api.executeTask("t2", "StubbornTask", { device_ids: ["dev1"] });
try {
  await api.callDeviceMethod("dev1", "hello");
  out.conflict = "no error";
} catch (e) {
  out.conflict = { isServerAPIError: e instanceof ServerAPIError, status: e.status, type: e.type, task: e.context?.task_id };
}
out.runtime = typeof Bun === "undefined" ? "node " + process.version : "bun";
console.log(JSON.stringify(out));
`;

let server: Running;
let dir: string;
beforeAll(async () => {
  server = await startServer();
  await server.daemon.connectDevice(server.daemon.addDevice("dev1", "MockDevice", {}));
  await server.daemon.connectDevice(server.daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 5 }));
  dir = mkdtempSync(join(tmpdir(), "labdaemon-node-client-"));
});
afterAll(async () => {
  StubbornTask.release?.();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!NODE)(
  "npm pack gives a client that Node 20 runs against a live server: devices, call, task, three SSE events, a 409",
  async () => {
    const pack = Bun.spawnSync(["npm", "pack", "--silent", "--pack-destination", dir], { cwd: ROOT, stderr: "pipe" });
    expect(pack.stderr.toString()).not.toContain("ERR");
    expect(pack.exitCode).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    const app = join(dir, "app");
    Bun.spawnSync(["mkdir", "-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "lab-script", private: true, type: "module" }));
    // The machine's npm cache already holds the package's dependencies (npm ci ran): no network needed.
    const install = Bun.spawnSync(
      ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", join(dir, tarball!)],
      { cwd: app, stdout: "pipe", stderr: "pipe" },
    );
    expect(install.exitCode).toBe(0);
    writeFileSync(join(app, "client.mjs"), SCRIPT);
    const run = Bun.spawn([NODE!, "client.mjs", server.url], {
      cwd: app,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 2 * SCRIPT_WAIT_MS,
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exited,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(stdout);
    expect(out.runtime).toMatch(/^node v\d+/);
    expect(out.devices).toEqual(["dev1", "s1"]);
    expect(out.sum).toBe(5);
    expect(out.task).toEqual({ status: "completed", result: { status: "complete", task_id: "t1" } });
    expect(out.sequences).toHaveLength(3);
    expect(out.sequences[1]).toBeGreaterThan(out.sequences[0]);
    expect(out.sequences[2]).toBeGreaterThan(out.sequences[1]);
    expect(out.conflict).toEqual({ isServerAPIError: true, status: 409, type: "DeviceInUse", task: "t2" });

    // The types come with it: a TypeScript consumer on Node's own module resolution type-checks against
    // them, and a wrong use of a wire type is caught.
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          lib: ["es2022", "dom"],
          skipLibCheck: true,
          types: [],
          noEmit: true,
        },
        files: ["check.ts"],
      }),
    );
    const tsc = (body: string) => {
      writeFileSync(
        join(app, "check.ts"),
        `import { ServerAPI, ServerAPIError, type DeviceDetail } from "labdaemon/client";\nconst api = new ServerAPI("http://127.0.0.1:1");\nconst d: DeviceDetail = await api.getDevice("x");\n${body}\nexport { ServerAPIError };\n`,
      );
      const r = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "-p", app], { stdout: "pipe" });
      return { code: r.exitCode, out: r.stdout.toString() };
    };
    expect(tsc("export const n: number = d.connected ? 1 : 0;")).toEqual({ code: 0, out: "" });
    const wrong = tsc("export const n: number = d.connected;");
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toContain("Type 'boolean' is not assignable to type 'number'");
  },
  // A hang guard: npm pack (which builds the client), npm install, the script and two tsc runs take
  // minutes on a loaded machine.
  600_000,
);
