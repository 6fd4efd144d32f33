// Over HTTP: constructor params checked against the classes' schemas, tasks whose devices cannot do their
// job, unknown task parameter keys, and integer method arguments checked as integers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { SimLaser, SimPowerMeter, SweepTask } from "../../drivers/index.ts";
import { MockDevice, until } from "../support/fixtures.ts";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";

/** A DAQ-like device whose method schemas use both Elysia's t and typebox's own Type. */
class Digitizer extends MockDevice {
  static methods = {
    read: { params: { samples: t.Integer({ minimum: 1, maximum: 100 }) }, doc: "Elysia t.Integer" },
    readRaw: { params: { samples: Type.Integer({ minimum: 1 }) }, doc: "typebox Type.Integer" },
    setGain: { params: { gain: t.Number({ minimum: 0.5, maximum: 8 }) } },
    average: { params: { samples: t.Integer(), repeats: t.Optional(t.Integer({ minimum: 1 })) } },
  };
  read(samples: number) {
    return samples;
  }
  readRaw(samples: number) {
    return samples;
  }
  setGain(gain: number) {
    return gain;
  }
  average(samples: number, repeats?: number) {
    return { samples, repeats: repeats ?? null };
  }
}

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  s.daemon.registerPlugins({ devices: { SimLaser, SimPowerMeter, Digitizer }, tasks: { SweepTask } });
});
afterAll(() => s.close());

/** A laser and a meter on its light, connected, under ids unique to the test (the simulated fibre is process-wide). */
async function bench(laser: string, meter: string): Promise<void> {
  await s.req("POST", "/devices", { device_id: laser, device_type: "SimLaser", params: { settleMs: 0 } });
  await s.req("POST", "/devices", {
    device_id: meter,
    device_type: "SimPowerMeter",
    params: { source: laser, averagingMs: 0 },
  });
  await s.req("POST", `/devices/${laser}/connect`);
  await s.req("POST", `/devices/${meter}/connect`);
}

describe("constructor params", () => {
  test("POST /devices with a misspelt SimLaser param is 400 DeviceCreationError naming it and the known ones; nothing is added", async () => {
    const r = await s.req("POST", "/devices", {
      device_id: "pv-laser",
      device_type: "SimLaser",
      params: { wavelenght: 1560 },
    });
    expect(r.status).toBe(400);
    expect(isEnvelope(r.body)).toBe(true);
    expect(r.body.error.type).toBe("DeviceCreationError");
    expect(r.body.error.message).toBe(
      "Failed to create device 'pv-laser' of type 'SimLaser': params.wavelenght: unknown parameter " +
        "(did you mean 'wavelength'? known: wavelength, power, settleMs, minWavelength, maxWavelength, maxPower)",
    );
    expect(r.body.error.context.errors[0]).toMatchObject({
      path: "params.wavelenght",
      known: expect.arrayContaining(["wavelength"]),
    });
    expect((await s.req("GET", "/devices/pv-laser")).status).toBe(404);
    const wrongType = await s.req("POST", "/devices", {
      device_id: "pv-laser",
      device_type: "SimLaser",
      params: { wavelength: "1560" },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toEndWith("params.wavelength: Expected number");
  });

  test("POST /tasks SweepTask with a misspelt param is 400 TaskInstantiationError; no task is stored and no device claimed", async () => {
    await bench("pv-l1", "pv-m1");
    const r = await s.req("POST", "/tasks", {
      task_id: "pv-sweep",
      task_type: "SweepTask",
      params: { laser_id: "pv-l1", meter_id: "pv-m1", stepz: 5 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe("TaskInstantiationError");
    expect(r.body.error.message).toBe(
      "Failed to instantiate task 'pv-sweep': params.stepz: unknown parameter " +
        "(did you mean 'steps'? known: laser_id, meter_id, start_wl, stop_wl, steps, dwell_ms, power_mw)",
    );
    expect((await s.req("GET", "/tasks/pv-sweep")).status).toBe(404);
    expect((await s.req("GET", "/devices/pv-l1")).body.owned_by).toBeNull();
    const fraction = await s.req("POST", "/tasks", {
      task_id: "pv-sweep",
      task_type: "SweepTask",
      params: { laser_id: "pv-l1", meter_id: "pv-m1", steps: 2.5 },
    });
    expect(fraction.status).toBe(400);
    expect(fraction.body.error.message).toEndWith("params.steps: Expected integer");
  });

  test("POST /tasks SweepTask with laser and meter swapped is 400 before it starts, naming the missing methods", async () => {
    await bench("pv-l2", "pv-m2");
    const r = await s.req("POST", "/tasks", {
      task_id: "pv-swapped",
      task_type: "SweepTask",
      params: { laser_id: "pv-m2", meter_id: "pv-l2", steps: 3 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe("TaskInstantiationError");
    expect(r.body.error.message).toBe(
      "Task 'pv-swapped' (SweepTask) cannot run: device 'pv-m2' (SimPowerMeter) has no methods setWavelength, enableOutput; " +
        "device 'pv-l2' (SimLaser) has no method readPower. Check which device each parameter names.",
    );
    expect((await s.req("GET", "/tasks/pv-swapped")).status).toBe(404);
    expect((await s.req("GET", "/devices/pv-m2")).body.owned_by).toBeNull();
    // The same devices the right way round sweep.
    const ok = await s.req("POST", "/tasks", {
      task_id: "pv-swapped",
      task_type: "SweepTask",
      params: { laser_id: "pv-l2", meter_id: "pv-m2", steps: 3 },
    });
    expect(ok.status).toBe(200);
    await until(() => !s.daemon.getTask("pv-swapped").isRunning(), 5000, "sweep");
    expect((await s.req("GET", "/tasks/pv-swapped")).body).toMatchObject({
      status: "completed",
      result: { complete: true },
    });
  });
});

describe("task parameters", () => {
  test("GET and POST /tasks/{id}/parameters with an unknown key on a SweepTask are 400 TaskParameterError naming the known keys", async () => {
    await bench("pv-l3", "pv-m3");
    const started = await s.req("POST", "/tasks", {
      task_id: "pv-long",
      task_type: "SweepTask",
      params: { laser_id: "pv-l3", meter_id: "pv-m3", steps: 1000, dwell_ms: 20 },
    });
    expect(started.status).toBe(200);
    const get = await s.req("GET", "/tasks/pv-long/parameters/dwel_ms");
    expect(get.status).toBe(400);
    expect(get.body.error.type).toBe("TaskParameterError");
    expect(get.body.error.message).toBe(
      "Failed to read parameter 'dwel_ms' of task 'pv-long': " +
        "SweepTask 'pv-long' has no parameter 'dwel_ms' (known: dwell_ms, points_done, steps, start_wl, stop_wl)",
    );
    expect(get.body.error.context).toMatchObject({
      task_id: "pv-long",
      key: "dwel_ms",
      known: ["dwell_ms", "points_done", "steps", "start_wl", "stop_wl"],
    });
    const set = await s.req("POST", "/tasks/pv-long/parameters", { key: "steps", value: 3 });
    expect(set.status).toBe(400);
    expect(set.body.error.context.known).toEqual(["dwell_ms"]);
    expect((await s.req("GET", "/tasks/pv-long/parameters/dwell_ms")).body.value).toBe(20);
    await s.req("POST", "/tasks/pv-long/cancel");
    await until(() => !s.daemon.getTask("pv-long").isRunning(), 5000, "cancel");
  });
});

describe("integer method arguments", () => {
  beforeAll(async () => {
    await s.req("POST", "/devices", { device_id: "pv-dig", device_type: "Digitizer" });
  });
  const call = (method: string, body: Record<string, unknown>) =>
    s.req("POST", "/devices/pv-dig/call", { method, ...body });

  test("Elysia's t.Integer takes an integer and refuses a numeric string, a fraction and an out-of-range value as integers", async () => {
    expect((await call("read", { args: [50] })).body).toEqual({ result: 50, success: true });
    for (const [arg, why] of [
      ["5", "Expected integer"],
      [5.5, "Expected integer"],
      [500, "Expected integer to be less or equal to 100"],
      [0, "Expected integer to be greater or equal to 1"],
    ] as const) {
      const r = await call("read", { args: [arg] });
      expect(r.status).toBe(422);
      expect(r.body.error.type).toBe("ValidationError");
      expect(r.body.error.message).toBe(`Invalid arguments for method 'read': samples: ${why}`);
    }
  });

  test("typebox's Type.Integer behaves the same", async () => {
    expect((await call("readRaw", { args: [500] })).body.result).toBe(500);
    const r = await call("readRaw", { args: ["500"] });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toBe("Invalid arguments for method 'readRaw': samples: Expected integer");
  });

  test("t.Number with minimum and maximum refuses values outside them and strings", async () => {
    expect((await call("setGain", { kwargs: { gain: 2.5 } })).body.result).toBe(2.5);
    expect((await call("setGain", { args: [9] })).body.error.message).toBe(
      "Invalid arguments for method 'setGain': gain: Expected number to be less or equal to 8",
    );
    expect((await call("setGain", { args: [0.1] })).status).toBe(422);
    expect((await call("setGain", { args: ["2"] })).body.error.message).toBe(
      "Invalid arguments for method 'setGain': gain: Expected number",
    );
  });

  test("t.Optional(t.Integer()) may be left out but is checked when given", async () => {
    expect((await call("average", { args: [10] })).body.result).toEqual({ samples: 10, repeats: null });
    expect((await call("average", { kwargs: { samples: 10, repeats: 3 } })).body.result).toEqual({
      samples: 10,
      repeats: 3,
    });
    const r = await call("average", { args: [10, "3"] });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toBe("Invalid arguments for method 'average': repeats: Expected integer");
    expect((await call("average", { args: [] })).status).toBe(422);
  });

  test("GET /devices/{id}/methods shows integer parameters as integers, without Elysia's string form", async () => {
    const r = await s.req("GET", "/devices/pv-dig/methods");
    const params = Object.fromEntries(r.body.methods.map((m: any) => [m.name, m.parameters]));
    expect(params.read).toEqual([
      { name: "samples", type: "integer", required: true, schema: { type: "integer", minimum: 1, maximum: 100 } },
    ]);
    expect(params.readRaw[0]).toMatchObject({ type: "integer", schema: { type: "integer", minimum: 1 } });
    expect(params.average[1]).toEqual({
      name: "repeats",
      type: "integer",
      required: false,
      schema: { type: "integer", minimum: 1 },
    });
    expect(r.text).not.toContain("anyOf");
  });
});
