// Which methods a client can reach over HTTP: `static remote` narrows them; `_` and `#` names never are;
// GET /devices/{id}/methods lists exactly what POST /devices/{id}/call accepts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { t } from "elysia";
import { ScpiInstrument, SimDaq, SimLaser, SimPowerMeter } from "../../drivers/index.ts";
import { LabDaemon, type TaskContext } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";

/** TypeScript `private` does not exist at run time: without `static remote`, io() is reachable. */
class OpenSupply {
  volts = 0;
  constructor(readonly deviceId: string) {}
  setVoltage(v: number) {
    this.volts = v;
    return v;
  }
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the test proves a private member cannot be called remotely
  private io() {
    return { session: "secret settings" };
  }
  _raw() {
    return "raw";
  }
  #hidden() {
    return "hidden";
  }
  peek() {
    return this.#hidden();
  }
  connect() {}
  disconnect() {}
  isConnected() {
    return true;
  }
}

class Supply extends OpenSupply {
  static remote = ["setVoltage", "getVoltage"];
  static methods = { setVoltage: { params: { volts: t.Number({ minimum: 0, maximum: 30 }) }, doc: "V" } };
  getVoltage() {
    return this.volts;
  }
  calibrate() {
    return "calibrated";
  }
}

class CalibrateTask {
  deviceIds = ["psu"];
  requiredMethods = { psu: ["calibrate"] };
  constructor(readonly taskId: string) {}
  async run(ctx: TaskContext) {
    return await ctx.daemon.getDevice<Supply>("psu").calibrate();
  }
}

let s: TestServer;
const call = (id: string, method: string, args: unknown[] = []) =>
  s.req("POST", `/devices/${id}/call`, { method, args });
const listed = async (id: string) =>
  ((await s.req("GET", `/devices/${id}/methods`)).body.methods as { name: string }[]).map((m) => m.name);

beforeAll(async () => {
  s = await startTestServer({ logLevel: "silent" });
  s.daemon.registerPlugins({
    devices: { OpenSupply, Supply, SimLaser, SimPowerMeter, SimDaq, ScpiInstrument },
    tasks: { CalibrateTask },
  });
  for (const [id, type] of [
    ["open", "OpenSupply"],
    ["psu", "Supply"],
  ]) {
    await s.req("POST", "/devices", { device_id: id, device_type: type });
    await s.req("POST", `/devices/${id}/connect`);
  }
});
afterAll(async () => {
  await s.close();
});

test("with static remote, only the listed methods are listed and callable; the rest is 404 MethodNotFound", async () => {
  expect(await listed("psu")).toEqual(["getVoltage", "setVoltage"]);
  expect((await call("psu", "setVoltage", [12])).body).toEqual({ result: 12, success: true });
  expect((await call("psu", "getVoltage")).body.result).toBe(12);
  for (const hidden of ["io", "calibrate", "peek"]) {
    const r = await call("psu", hidden);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ type: "MethodNotFound", context: { device_id: "psu", method: hidden } });
  }
});

test("without static remote every public method is reachable (TypeScript private included); _ and # names never", async () => {
  expect(await listed("open")).toEqual(["io", "peek", "setVoltage"]);
  expect((await call("open", "io")).status).toBe(200);
  for (const name of ["_raw", "#hidden"]) expect((await call("open", name)).status).toBe(400);
});

test("GET /methods lists exactly what /call accepts: no lifecycle methods", async () => {
  for (const id of ["open", "psu"]) {
    const names = await listed(id);
    for (const lifecycle of ["connect", "disconnect", "isConnected"]) {
      expect(names).not.toContain(lifecycle);
      expect((await call(id, lifecycle)).status).toBe(400);
    }
    for (const name of names)
      expect({ name, status: (await call(id, name, [1])).status }).toEqual({ name, status: 200 });
  }
});

test("the built-in drivers declare what is remote, and list exactly that", async () => {
  await s.req("POST", "/devices", { device_id: "l1", device_type: "SimLaser" });
  await s.req("POST", "/devices", { device_id: "m1", device_type: "SimPowerMeter", params: { source: "l1" } });
  await s.req("POST", "/devices", { device_id: "q1", device_type: "SimDaq" });
  await s.req("POST", "/devices", {
    device_id: "i1",
    device_type: "ScpiInstrument",
    params: { resource: "TCPIP0::127.0.0.1::9::SOCKET" },
  });
  for (const [id, cls] of [
    ["l1", SimLaser],
    ["m1", SimPowerMeter],
    ["q1", SimDaq],
    ["i1", ScpiInstrument],
  ] as const) {
    expect(Array.isArray(cls.remote)).toBe(true);
    expect(await listed(id)).toEqual([...cls.remote].sort());
  }
});

test("in-process code and tasks may still use methods that are not remote", async () => {
  expect(await s.daemon.getDevice<Supply>("psu").calibrate()).toBe("calibrated");
  const h = s.daemon.executeTask("cal", "CalibrateTask");
  expect(await h.wait({ timeoutMs: 5000 })).toBe("calibrated");
});

test("a static remote naming something that is not a remote-callable method is refused at registration", () => {
  const d = new LabDaemon();
  for (const remote of [["nope"], ["_raw"], ["connect"], "setVoltage", [1]]) {
    class Bad extends OpenSupply {
      static remote = remote;
    }
    expect(() => d.registerPlugins({ devices: { Bad } })).toThrow(/static remote/);
  }
});
