// What a user sees when a device fails inside a task, and method schemas enforced on every call through
// the daemon (the proxy in-process as well as POST /call).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { t } from "elysia";
import { DeviceOperationError, LabDaemon, ValidationError, type TaskContext } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";

class Psu {
  static methods = { setVoltage: { params: { volts: t.Number({ minimum: 0, maximum: 30 }) }, doc: "V" } };
  volts = 0;
  writes = 0;
  constructor(readonly deviceId: string) {}
  async setVoltage(volts: number) {
    this.writes++;
    this.volts = volts;
    return volts;
  }
  async trip(): Promise<never> {
    await Promise.resolve();
    throw new DeviceOperationError("over-current protection tripped", { channel: 1 });
  }
}

class TrippingTask {
  deviceIds = ["psu"];
  constructor(readonly taskId: string) {}
  async run(ctx: TaskContext) {
    const psu = ctx.daemon.getDevice<Psu>("psu");
    await psu.setVoltage(5);
    await psu.trip();
  }
}

class OverVoltageTask {
  deviceIds = ["psu"];
  constructor(readonly taskId: string) {}
  async run(ctx: TaskContext) {
    await ctx.daemon.getDevice<Psu>("psu").setVoltage(35);
  }
}

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ logLevel: "silent" });
  s.daemon.registerPlugins({ devices: { Psu }, tasks: { TrippingTask, OverVoltageTask } });
  await s.req("POST", "/devices", { device_id: "psu", device_type: "Psu" });
  await s.req("POST", "/devices/psu/connect");
});
afterAll(async () => {
  await s.close();
});

describe("a device's error inside a task", () => {
  test("keeps the device's type, origin device and device_id in the task's exception and stored error", async () => {
    expect((await s.req("POST", "/tasks", { task_id: "trip1", task_type: "TrippingTask" })).status).toBe(200);
    await s.daemon.getTask("trip1").settled;
    const detail = await s.req("GET", "/tasks/trip1");
    expect(detail.body.status).toBe("failed");
    expect(detail.body.exception.error).toMatchObject({
      type: "DeviceOperationError",
      origin: "device",
      message: "over-current protection tripped",
      context: { task_id: "trip1", device_id: "psu", method: "trip" },
    });
    const stored = (await s.req("GET", "/tasks/trip1/error")).body.error;
    expect(stored).toMatchObject({
      type: "DeviceOperationError",
      origin: "device",
      context: { task_id: "trip1", device_id: "psu", method: "trip" },
    });
    // The traceback shows where the device failed and the task's own frame that made the call.
    expect(stored.traceback).toContain("trip");
    expect(stored.traceback).toMatch(/run \(.*taskDeviceErrors\.test\.ts:\d+/);
    expect((await s.req("GET", "/devices/psu/error")).body.error).toMatchObject({
      type: "DeviceOperationError",
      origin: "device",
    });
  });

  test("a task's own failure stays the framework's", async () => {
    s.daemon.registerPlugins({
      tasks: {
        OwnFailure: class {
          async run() {
            throw new TypeError("bad plan");
          }
        },
      },
    });
    await s.req("POST", "/tasks", { task_id: "own1", task_type: "OwnFailure" });
    await s.daemon.getTask("own1").settled;
    expect((await s.req("GET", "/tasks/own1")).body.exception.error).toMatchObject({
      type: "TypeError",
      origin: "framework",
      context: { task_id: "own1" },
    });
  });
});

describe("method schemas on every call", () => {
  test("a proxy call in-process outside the schema rejects with ValidationError and never reaches the device", async () => {
    const d = new LabDaemon();
    d.registerPlugins({ devices: { Psu } });
    const psu = d.addDevice<Psu>("p", "Psu");
    const err = await psu.setVoltage(35).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain("volts");
    expect(err.context).toMatchObject({ device_id: "p", method: "setVoltage" });
    expect(err.context.errors[0].path).toBe("/0");
    expect((d.getDeviceInstance("p") as Psu).writes).toBe(0);
    expect(await psu.setVoltage(12)).toBe(12);
    await d.shutdown();
  });

  test("a task calling setVoltage(35) on a 30 V maximum fails with ValidationError; the supply is untouched", async () => {
    const before = (s.daemon.getDeviceInstance("psu") as Psu).writes;
    await s.req("POST", "/tasks", { task_id: "ov1", task_type: "OverVoltageTask" });
    await s.daemon.getTask("ov1").settled;
    const detail = await s.req("GET", "/tasks/ov1");
    expect(detail.body.status).toBe("failed");
    expect(detail.body.exception.error).toMatchObject({ type: "ValidationError", origin: "framework" });
    expect((s.daemon.getDeviceInstance("psu") as Psu).writes).toBe(before);
  });

  test("over HTTP the same check is still 422 ValidationError", async () => {
    const r = await s.req("POST", "/devices/psu/call", { method: "setVoltage", args: [35] });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ type: "ValidationError", context: { method: "setVoltage" } });
  });
});
