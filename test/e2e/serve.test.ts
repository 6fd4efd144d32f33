// The compiled appliance serving labs from each configuration format, driven over real HTTP.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  binary,
  COMPILE_GUARD_MS,
  E2E_TEST_TIMEOUT_MS,
  http,
  pollUntil,
  serve,
  type Served,
  WAIT_MS,
  workspace,
} from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const running: Served[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.terminate()));
});
async function start(args: string[], opts: Parameters<typeof serve>[1]): Promise<Served> {
  const s = await serve(args, opts);
  running.push(s);
  return s;
}
async function stop(s: Served) {
  running.splice(running.indexOf(s), 1);
  return s.terminate();
}

const YAML_LAB = `# an optics bench
name: YAML bench
devices:
  laserA:
    type: SimLaser
    params: { wavelength: 1550, settleMs: 1 }
    connect: true
  meterA:
    type: SimPowerMeter
    params: { source: laserA, averagingMs: 0, resonance: { center: 1551.0, fwhm: 0.1, depth: 0.8 } }
    connect: true
tasks: [SweepTask]
`;

describe("labdaemon serve with a YAML config", () => {
  test("devices are connected, callable with args and kwargs, and a sweep runs to completion", async () => {
    const cwd = await workspace({ "bench.yaml": YAML_LAB });
    const s = await start(["--config", "bench.yaml", "--port", "0"], { cwd });
    expect(s.stdout()).toContain("'YAML bench' from ");
    expect(s.stdout()).toContain(": 2 devices on http://");
    expect((await http(s.url, "/health")).body.status).toBe("healthy");
    const devices = (await http(s.url, "/devices")).body.devices;
    expect(devices.map((d: any) => [d.device_id, d.device_type, d.connected])).toEqual([
      ["laserA", "SimLaser", true],
      ["meterA", "SimPowerMeter", true],
    ]);

    expect(await http(s.url, "/devices/laserA/call", { body: { method: "setWavelength", args: [1551.25] } })).toEqual({
      status: 200,
      body: { result: 1551.25, success: true },
    });
    expect(
      (await http(s.url, "/devices/laserA/call", { body: { method: "setPower", kwargs: { mw: 2 } } })).body.result,
    ).toBe(2);
    const refused = await http(s.url, "/devices/laserA/call", { body: { method: "setWavelength", args: [2000] } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.type).toBe("ValidationError");

    const started = await http(s.url, "/tasks", {
      body: {
        task_id: "sweep1",
        task_type: "SweepTask",
        params: { laser_id: "laserA", meter_id: "meterA", start_wl: 1550.5, stop_wl: 1551.5, steps: 21 },
      },
    });
    expect(started.status).toBe(200);
    expect(started.body.device_ids).toEqual(["laserA", "meterA"]);
    const done = await pollUntil("sweep1 to finish", async () => {
      const t = (await http(s.url, "/tasks/sweep1")).body;
      return t.running ? undefined : t;
    });
    expect(done.status).toBe("completed");
    expect(done.progress.fraction).toBe(1);
    expect(done.result.complete).toBe(true);
    expect(done.result.wavelengths).toHaveLength(21);
    expect(done.result.minimum.wavelength).toBe(1551);
    expect(done.result.powers[0]).toBeGreaterThan(1.5); // 2 mW set above, far from the dip
    expect((await stop(s)).exitCode).toBe(0);
  });
});

describe("labdaemon serve with a JSON config holding profiles", () => {
  const json = JSON.stringify(
    {
      default: "mock",
      configs: {
        mock: { name: "Mock", devices: { laser1: { type: "SimLaser", connect: true } } },
        bench: { name: "Bench", devices: { daqB: { type: "SimDaq", params: { sampleRate: 1000, batchSize: 100 } } } },
      },
    },
    null,
    2,
  );

  test("the default profile, or the one --profile names", async () => {
    const cwd = await workspace({ "lab_servers.json": json });
    const a = await start(["--port", "0"], { cwd }); // found as ./lab_servers.json
    expect(a.stdout()).toContain("[profile mock]: 1 device on http://"); // not "1 devices"
    expect((await http(a.url, "/devices")).body.devices.map((d: any) => d.device_id)).toEqual(["laser1"]);
    const b = await start(["--port", "0", "--profile", "bench"], { cwd });
    const daq = (await http(b.url, "/devices/daqB")).body;
    expect([daq.device_type, daq.connected]).toEqual(["SimDaq", false]);
    expect((await stop(a)).exitCode).toBe(0);
    expect((await stop(b)).exitCode).toBe(0);
  });

  test("LABDAEMON_CONFIG and ~/.labdaemon are found; flags override the file's port", async () => {
    const cwd = await workspace({ "elsewhere.json": json });
    const viaEnv = await start(["--port", "0", "--profile", "bench"], {
      cwd,
      env: { LABDAEMON_CONFIG: `${cwd}/elsewhere.json` },
    });
    expect(viaEnv.stdout()).toContain("elsewhere.json [profile bench]");
    const home = await workspace();
    await Bun.write(`${home}/home/.labdaemon/lab_servers.yaml`, "name: From home\nport: 1\ndevices: {}\n");
    const viaHome = await start(["--port", "0"], { cwd: home });
    expect(viaHome.stdout()).toContain("'From home' from ");
    expect(viaHome.stdout()).toContain(": 0 devices on http://");
    expect(viaHome.port).not.toBe(1);
    await Promise.all([stop(viaEnv), stop(viaHome)]);
  });
});

describe("labdaemon serve with a TypeScript config", () => {
  test('device and task classes from files beside it import "labdaemon" inside the binary', async () => {
    const cwd = await workspace({
      "lab_servers.ts": `
import { Spectrometer } from "./spectrometer.ts";
import { Integrate } from "./integrate.ts";
export default {
  name: "Plugin lab",
  plugins: { devices: { Spectrometer }, tasks: { Integrate } },
  devices: { spec1: { type: "Spectrometer", params: { pixels: 8 }, connect: true } },
};
`,
      "spectrometer.ts": `
import { DeviceNotConnectedError, DeviceOperationError, t, version } from "labdaemon";
import { ServerAPI } from "labdaemon/client";
export class Spectrometer {
  static methods = {
    acquire: { params: [t.Integer({ minimum: 1, maximum: 1000 })], doc: "integration time, ms" },
  };
  connected = false;
  constructor(public deviceId: string, public params: { pixels: number }) {}
  connect() { this.connected = true; }
  isConnected() { return this.connected; }
  acquire(ms: number) {
    if (!this.connected) throw new DeviceNotConnectedError("not connected");
    if (ms === 13) throw new DeviceOperationError("shutter jammed", { device_id: this.deviceId });
    return Float64Array.from({ length: this.params.pixels }, (_, i) => i * ms);
  }
  libraryVersion() { return version; }
  clientClass() { return typeof ServerAPI; }
}
`,
      "integrate.ts": `
import type { TaskContext } from "labdaemon";
export class Integrate {
  deviceIds: string[];
  constructor(public taskId: string, public p: { spec: string; ms: number }) { this.deviceIds = [p.spec]; }
  async run(ctx: TaskContext) {
    const s = ctx.daemon.getDevice(this.p.spec);
    const frame = await s.acquire(this.p.ms);
    return Array.from(frame as Float64Array).reduce((a, b) => a + b, 0);
  }
}
`,
    });
    const s = await start(["--port", "0"], { cwd });
    expect((await http(s.url, "/devices/spec1/call", { body: { method: "acquire", args: [2] } })).body.result).toEqual([
      0, 2, 4, 6, 8, 10, 12, 14,
    ]);
    expect((await http(s.url, "/devices/spec1/call", { body: { method: "libraryVersion" } })).body.result).toMatch(
      /^\d+\.\d+\.\d+/,
    );
    expect((await http(s.url, "/devices/spec1/call", { body: { method: "clientClass" } })).body.result).toBe(
      "function",
    );
    const jammed = await http(s.url, "/devices/spec1/call", { body: { method: "acquire", args: [13] } });
    // The plugin's error class is the appliance's own: the server maps it like a built-in driver's.
    expect(jammed.status).toBe(400);
    expect(jammed.body.error).toMatchObject({
      type: "DeviceOperationError",
      message: "shutter jammed",
      origin: "device",
    });
    await http(s.url, "/tasks", {
      body: { task_id: "int1", task_type: "Integrate", params: { spec: "spec1", ms: 1 } },
    });
    const done = await pollUntil("int1", async () => {
      const t = (await http(s.url, "/tasks/int1")).body;
      return t.running ? undefined : t;
    });
    expect([done.status, done.result]).toEqual(["completed", 28]);
    expect((await stop(s)).exitCode).toBe(0);
  });
});

describe("the built-in simulated lab", () => {
  test("serve with no configuration anywhere serves it, and says so", async () => {
    const cwd = await workspace();
    const s = await start(["--port", "0"], { cwd });
    expect(s.stderr()).toContain("serving the built-in simulated lab");
    expect((await http(s.url, "/devices")).body.devices.map((d: any) => d.device_id)).toEqual([
      "laser1",
      "pm1",
      "daq1",
      "dmm1",
    ]);
    // The DMM answers through a real socket to its in-process simulator.
    expect((await http(s.url, "/devices/dmm1/call", { body: { method: "idn" } })).body.result).toBe(
      "LabDaemon,SimDMM,0001,1.0",
    );
    expect(
      (await http(s.url, "/devices/dmm1/call", { body: { method: "queryBinary", args: ["TRAC:DATA?"] } })).body.result,
    ).toHaveLength(1000);
    expect((await stop(s)).exitCode).toBe(0);
  });

  test("--sim wins over a config in the folder; Swagger UI and OpenAPI come from the binary itself", async () => {
    const cwd = await workspace({ "lab_servers.yaml": "devices: {}\n" });
    const s = await start(["--sim", "--port", "0"], { cwd });
    expect((await http(s.url, "/devices")).body.devices).toHaveLength(4);
    const page = await fetch(`${s.url}/swagger`, { signal: AbortSignal.timeout(WAIT_MS) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg\.com/);
    // Every asset the page refers to is served locally.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith("http"));
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) {
      const url = new URL(a, `${s.url}/swagger/`).href;
      expect(`${a} ${(await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) })).status}`).toBe(`${a} 200`);
    }
    expect((await stop(s)).exitCode).toBe(0);
  });
});

describe("--log-level", () => {
  test("info logs one line per request but not health checks; debug logs those too; warn drops successes", async () => {
    const cwd = await workspace();
    const levels = await Promise.all(
      ["info", "debug", "warn"].map((l) => start(["--sim", "--port", "0", "--log-level", l], { cwd })),
    );
    for (const s of levels) {
      await http(s.url, "/health");
      await http(s.url, "/devices/laser1");
      await http(s.url, "/devices/nope");
    }
    const logs = await Promise.all(
      levels.map(async (s) => {
        await stop(s);
        return s.stdout() + s.stderr();
      }),
    );
    const [info, debug, warn] = logs as [string, string, string];
    expect(info).toMatch(/GET \/devices\/laser1 200 [\d.]+ ?ms/);
    expect(info).toMatch(/GET \/devices\/nope 404 /);
    expect(info).not.toMatch(/GET \/health/);
    expect(debug).toMatch(/GET \/health 200 /);
    expect(warn).not.toMatch(/GET \/(health|devices\/laser1)/);
  });
});

describe("--cors and a token from the config file", () => {
  test("a listed origin gets CORS headers, another is refused; the config's token applies", async () => {
    const cwd = await workspace({ "lab.yaml": "token: from-file\ndevices: {}\n" });
    const s = await start(["--config", "lab.yaml", "--port", "0", "--cors", "http://dash.lab:8080"], { cwd });
    const ask = (origin: string) =>
      fetch(`${s.url}/devices`, {
        headers: { origin, authorization: "Bearer from-file" },
        signal: AbortSignal.timeout(WAIT_MS),
      });
    const ok = await ask("http://dash.lab:8080");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://dash.lab:8080");
    const other = await ask("http://evil.example");
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect((await http(s.url, "/devices")).status).toBe(401);
    expect((await stop(s)).exitCode).toBe(0);
  });
});

describe("--token", () => {
  test("every route but /health needs the bearer token; LABDAEMON_TOKEN works too", async () => {
    const cwd = await workspace();
    const s = await start(["--sim", "--port", "0", "--token", "s3cret"], { cwd });
    const denied = await http(s.url, "/devices");
    expect(denied.status).toBe(401);
    expect(denied.body.error.type).toBeString();
    expect((await http(s.url, "/devices", { token: "wrong" })).status).toBe(401);
    expect((await http(s.url, "/devices", { token: "s3cret" })).status).toBe(200);
    expect((await http(s.url, "/health")).status).toBe(200);
    const e = await start(["--sim", "--port", "0"], { cwd, env: { LABDAEMON_TOKEN: "fromenv" } });
    expect((await http(e.url, "/devices")).status).toBe(401);
    expect((await http(e.url, "/devices", { token: "fromenv" })).status).toBe(200);
    await Promise.all([stop(s), stop(e)]);
  });
});
