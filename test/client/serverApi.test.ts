// ServerAPI against a real server: every route, typed results, and errors with status/type/context.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ServerAPI,
  ServerAPIError,
  ServerConnectionError,
  ensureDevice,
  ensureServer,
} from "../../src/client/index.ts";
import { startServer, type Running } from "./support.ts";

let srv: Running;
let api: ServerAPI;
beforeAll(async () => {
  srv = await startServer({ token: "s3cret" });
  // A hang guard per request that a loaded machine does not trip.
  api = new ServerAPI(`${srv.url}/`, { token: "s3cret", timeoutMs: 30_000 });
});
afterAll(async () => {
  await srv.stop();
});

async function apiError(p: Promise<unknown>): Promise<ServerAPIError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ServerAPIError);
    return e as ServerAPIError;
  }
  throw new Error("expected a ServerAPIError");
}

describe("ServerAPI", () => {
  test("server info and health", async () => {
    const info = await api.info();
    expect(info.endpoints.device_stream).toBe("/stream/devices/{device_id}");
    const h = await api.health();
    expect(h.status).toBe("healthy");
  });

  test("an id or key of '', '.' or '..' is refused before it can reach another route", async () => {
    const h = srv.daemon.executeTask("seg-task", "MockTask", { delay: 200 });
    for (const bad of ["", ".", ".."]) {
      for (const p of [
        api.getDevice(bad),
        api.removeDevice(bad),
        api.getDeviceMethods(bad),
        api.getTask(bad),
        api.getTaskParameter("seg-task", bad),
      ]) {
        const e = await apiError(p);
        expect(e.type).toBe("InvalidRequest");
        expect(e.status).toBe(0);
      }
    }
    await h.wait();
  });

  test("device routes, from add to remove", async () => {
    const added = await api.addDevice("d1", "MockDevice", { address: "GPIB0::3" });
    expect(added).toMatchObject({ device_id: "d1", device_type: "MockDevice", connected: false });
    expect((await api.listDevices()).devices.map((d) => d.device_id)).toContain("d1");
    const methods = await api.getDeviceMethods("d1");
    expect(methods.methods.map((m) => m.name)).toContain("addNumbers");
    expect((await api.connectDevice("d1")).connected).toBe(true);
    expect(await api.callDeviceMethod<number>("d1", "addNumbers", [2, 3])).toBe(5);
    expect(await api.callDeviceMethod("d1", "hello")).toBe("Hello from d1");
    expect(await api.getDeviceError("d1")).toBeNull();
    const failed = await apiError(api.callDeviceMethod("d1", "fail", ["boom"]));
    expect(failed.type).toBe("RangeError");
    expect(failed.status).toBeGreaterThanOrEqual(400);
    const stored = await api.getDeviceError("d1");
    expect(stored!.error.message).toBe("boom");
    expect(await api.clearDeviceError("d1")).toBeUndefined();
    expect(await api.getDeviceError("d1")).toBeNull();
    expect((await api.getDevice("d1")).connected).toBe(true);
    expect((await api.disconnectDevice("d1")).connected).toBe(false);
    expect((await api.stopDeviceStream("d1")).status).toBe("stopped");
    expect((await api.removeDevice("d1")).status).toBe("removed");
    const gone = await apiError(api.getDevice("d1"));
    expect([gone.status, gone.type, gone.context.device_id]).toEqual([404, "DeviceNotFound", "d1"]);
  });

  test("task routes: execute, inspect, pause, resume, parameters, cancel, errors", async () => {
    expect((await api.executeTask("t1", "SteppedTask", { steps: 10_000, stepMs: 2 })).status).toBe("started");
    expect((await api.listTasks()).tasks.find((t) => t.task_id === "t1")!.running).toBe(true);
    expect((await api.pauseTask("t1")).task_status).toBe("paused");
    expect((await api.getTask("t1")).status).toBe("paused");
    expect((await api.resumeTask("t1")).task_status).toBe("running");
    expect((await api.setTaskParameter("t1", "value", 42)).status).toBe("parameter_set");
    expect(await api.getTaskParameter<number>("t1", "value")).toBe(42);
    expect(await api.getTaskError("t1")).toBeNull();
    expect((await api.cancelTask("t1")).status).toBe("cancellation_requested");
    const end = Date.now() + 20_000; // a hang guard
    while ((await api.getTask("t1")).running && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect((await api.getTask("t1")).status).toBe("cancelled");

    await api.executeTask("t2", "FailingTask", { message: "bad sweep" });
    while ((await api.getTask("t2")).running && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect((await api.getTaskError("t2"))!.error.message).toContain("bad sweep");
    await api.clearTaskError("t2");
    expect(await api.getTaskError("t2")).toBeNull();

    const dup = await apiError(api.executeTask("t3", "NoSuchTask"));
    expect([dup.status, dup.type]).toEqual([404, "TaskTypeNotFound"]);
  });

  test("a 409 carries the envelope's context", async () => {
    await api.addDevice("d2", "MockDevice");
    const e = await apiError(api.addDevice("d2", "MockDevice"));
    expect([e.status, e.type, e.origin]).toEqual([409, "DeviceExists", "framework"]);
    expect(e.context.device_id).toBe("d2");
    expect(e.message).toContain("DeviceExists");
  });

  test("a missing token is a 401 ServerAPIError", async () => {
    const e = await apiError(new ServerAPI(srv.url).listDevices());
    expect([e.status, e.type]).toEqual([401, "Unauthorized"]);
  });

  test("an unreachable server and a timeout are ServerConnectionErrors", async () => {
    const dead = Bun.serve({ port: 0, fetch: () => new Response("") });
    const port = dead.port;
    dead.stop(true);
    const e = await apiError(new ServerAPI(`http://127.0.0.1:${port}`).health());
    expect(e).toBeInstanceOf(ServerConnectionError);
    expect(e.status).toBe(0);
    await api.addDevice("slow1", "MockDevice");
    // The client's own bound is far beyond the 10 s call, so a Timeout can only be the request's 100 ms.
    const patient = new ServerAPI(srv.url, { token: "s3cret", timeoutMs: 120_000 });
    const te = await apiError(patient.callDeviceMethod("slow1", "slow", [10_000], undefined, { timeoutMs: 100 }));
    expect(te).toBeInstanceOf(ServerConnectionError);
    expect(te.type).toBe("Timeout");
  });
});

describe("ensureServer / ensureDevice", () => {
  test("ensureServer is true for a healthy server, false otherwise, and never throws", async () => {
    expect(await ensureServer(`${srv.url}/`, { timeoutMs: 20_000 })).toBe(true);
    expect(await ensureServer("http://127.0.0.1:1", { timeoutMs: 500 })).toBe(false);
    expect(await ensureServer("not a url")).toBe(false);
    expect(await ensureServer(null)).toBe(false);
  });

  test("ensureDevice adds a missing device and connects it; an existing one is returned", async () => {
    const d = await ensureDevice(api, "e1", "MockDevice", { params: { address: "X" } });
    expect([d.device_id, d.connected]).toEqual(["e1", true]);
    expect((srv.daemon.getDeviceInstance("e1") as { address: string }).address).toBe("X");
    const again = await ensureDevice(api, "e1", "MockDevice");
    expect(again.connected).toBe(true);
    const quiet = await ensureDevice(api, "e2", "MockDevice", { connect: false });
    expect(quiet.connected).toBe(false);
    const bad = await ensureDevice(api, "e3", "NoSuchType").catch((e) => e);
    expect(bad).toBeInstanceOf(ServerAPIError);
    expect(bad.type).toBe("DeviceTypeNotFound");
  });
});
