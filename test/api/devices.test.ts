// Device routes over a real loopback socket: the registry, connect and disconnect, remote calls and their
// errors, typed methods, stream stop and the daemon's lifetime.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";
import { type MockDevice, until } from "../support/fixtures.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

async function addDevice(id: string, type = "MockDevice", params: object = {}, connect = true) {
  const r = await s.req("POST", "/devices", { device_id: id, device_type: type, params });
  expect(r.status).toBe(200);
  if (connect) expect((await s.req("POST", `/devices/${id}/connect`)).status).toBe(200);
}

describe("device registry", () => {
  test("POST /devices adds an unconnected device and GET /devices lists it", async () => {
    const r = await s.req("POST", "/devices", {
      device_id: "test_device",
      device_type: "MockDevice",
      params: { address: "GPIB0::1" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      device_id: "test_device",
      device_type: "MockDevice",
      connected: false,
      streaming: false,
      owned_by: null,
    });
    const list = await s.req("GET", "/devices");
    expect(list.status).toBe(200);
    expect(list.body.devices).toHaveLength(1);
    expect(list.body.devices[0]).toMatchObject({
      device_id: "test_device",
      device_type: "MockDevice",
      connected: false,
      streaming: false,
      owned_by: null,
      last_error: null,
    });
    expect((s.daemon.getDeviceInstance("test_device") as MockDevice).address).toBe("GPIB0::1");
  });

  test("POST /devices refuses missing fields, bad params, duplicates and unknown types", async () => {
    expect((await s.req("POST", "/devices", { device_type: "MockDevice" })).body.error.message).toBe(
      "device_id is required",
    );
    expect((await s.req("POST", "/devices", { device_id: "a" })).body.error.message).toBe("device_type is required");
    const badParams = await s.req("POST", "/devices", { device_id: "a", device_type: "MockDevice", params: [1] });
    expect(badParams.status).toBe(400);
    expect(badParams.body.error).toMatchObject({ type: "InvalidRequest", message: "params must be a dict" });
    expect((await s.req("POST", "/devices", { device_id: "a", device_type: "MockDevice", params: null })).status).toBe(
      400,
    );
    const badId = await s.req("POST", "/devices", { device_id: "has space", device_type: "MockDevice" });
    expect(badId.status).toBe(400);
    await addDevice("a", "MockDevice", {}, false);
    const dup = await s.req("POST", "/devices", { device_id: "a", device_type: "MockDevice" });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ type: "DeviceExists", context: { device_id: "a" } });
    expect(dup.body.error.message).toContain("'a' already exists");
    const unknown = await s.req("POST", "/devices", { device_id: "b", device_type: "Nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.type).toBe("DeviceTypeNotFound");
    for (const r of [dup, unknown, badParams, badId]) expect(isEnvelope(r.body)).toBe(true);
    expect(s.daemon.listDevices().map((d) => d.deviceId)).toEqual(["a"]);
  });

  test("a body that is not a JSON object is 422 ValidationError on every route that takes one", async () => {
    for (const path of ["/devices", "/tasks", "/devices/x/call", "/tasks/x/parameters"]) {
      for (const body of ["[1,2]", '"text"', "null", "42", "{oops"]) {
        const r = await s.req("POST", path, body);
        expect({ path, body, status: r.status }).toEqual({ path, body, status: 422 });
        expect(r.body.error.type).toBe("ValidationError");
      }
    }
  });

  test("after the daemon shut down, adding a device is 503 DaemonClosed", async () => {
    await s.daemon.shutdown();
    const r = await s.req("POST", "/devices", { device_id: "late", device_type: "MockDevice" });
    expect(r.status).toBe(503);
    expect(r.body.error.type).toBe("DaemonClosed");
  });

  test("a constructor failure is 400 DeviceCreationError with origin device", async () => {
    s.daemon.registerPlugins({
      devices: {
        Exploding: class {
          constructor() {
            throw new RangeError("no such port");
          }
        },
      },
    });
    const r = await s.req("POST", "/devices", { device_id: "x", device_type: "Exploding" });
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe("DeviceCreationError");
    expect(r.body.error.origin).toBe("device");
    expect(r.body.error.message).toContain("no such port");
    expect(s.daemon.hasDevice("x")).toBe(false);
  });

  test("GET /devices/{id} shows detail with last_error and stream; unknown id is 404 DeviceNotFound", async () => {
    await addDevice("test_device");
    const r = await s.req("GET", "/devices/test_device");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      device_id: "test_device",
      connected: true,
      last_error: null,
      owned_by: null,
      busy: false,
      pending: 0,
    });
    expect("stream" in r.body).toBe(true);
    const missing = await s.req("GET", "/devices/nonexistent");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: "DeviceNotFound", origin: "framework" });
    expect(missing.body.error.message).toContain("nonexistent");
  });

  test("DELETE /devices/{id} disconnects and removes; its stored error goes with it", async () => {
    await addDevice("d1");
    await s.req("POST", "/devices/d1/call", { method: "fail" });
    const inst = s.daemon.getDeviceInstance("d1") as MockDevice;
    const r = await s.req("DELETE", "/devices/d1");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "removed", device_id: "d1" });
    expect(inst.disconnects).toBe(1);
    expect((await s.req("GET", "/devices/d1")).status).toBe(404);
    expect(s.server.errors.deviceError("d1")).toBeNull();
    expect((await s.req("DELETE", "/devices/d1")).status).toBe(404);
    await addDevice("d1");
    expect((await s.req("GET", "/devices/d1/error")).status).toBe(404);
  });
});

describe("connect and disconnect", () => {
  test("connect and disconnect change tracked state; repeating them says already", async () => {
    await addDevice("d1", "MockDevice", {}, false);
    const c = await s.req("POST", "/devices/d1/connect");
    expect(c.body).toEqual({ device_id: "d1", connected: true, streaming: false, owned_by: null });
    const again = await s.req("POST", "/devices/d1/connect");
    expect(again.body).toEqual({ device_id: "d1", connected: true, message: "Device is already connected" });
    expect((s.daemon.getDeviceInstance("d1") as MockDevice).connects).toBe(1);
    const d = await s.req("POST", "/devices/d1/disconnect");
    expect(d.body).toEqual({ device_id: "d1", connected: false, streaming: false, owned_by: null });
    const d2 = await s.req("POST", "/devices/d1/disconnect");
    expect(d2.body).toEqual({ device_id: "d1", connected: false, message: "Device is already disconnected" });
    expect((await s.req("POST", "/devices/zz/connect")).status).toBe(404);
    expect((await s.req("POST", "/devices/zz/disconnect")).status).toBe(404);
  });

  test("a failing connect is 400 DeviceConnectionError and is stored with action context", async () => {
    await addDevice("bad", "FailingConnectingDevice", {}, false);
    const r = await s.req("POST", "/devices/bad/connect");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      type: "DeviceConnectionError",
      origin: "device",
      context: { device_id: "bad" },
    });
    expect(r.body.error.message).toBe("Failed to connect device 'bad': Failed to connect to mock hardware");
    const stored = await s.req("GET", "/devices/bad/error");
    expect(stored.status).toBe(200);
    expect(stored.body.error).toMatchObject({
      type: "DeviceConnectionError",
      origin: "device",
      context: { device_id: "bad", operation: "connect" },
    });
    expect(stored.body.error.traceback).toContain("fixtures.ts");
  });

  test("a failing disconnect is 400 DeviceDisconnectionError; a hung one is 504 and leaves it disconnected", async () => {
    s.daemon.registerPlugins({
      devices: {
        Sticky: class {
          connect() {}
          disconnect() {
            throw new Error("relay stuck");
          }
        },
      },
    });
    await addDevice("sticky", "Sticky");
    const r = await s.req("POST", "/devices/sticky/disconnect");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      type: "DeviceDisconnectionError",
      origin: "device",
      message: "Failed to disconnect device 'sticky': relay stuck",
    });
    expect((await s.req("GET", "/devices/sticky/error")).body.error.context.operation).toBe("disconnect");
    await s.close();
    s = await startTestServer({ connectTimeoutMs: 50 });
    await addDevice("hung", "HungDevice");
    const hung = await s.req("POST", "/devices/hung/disconnect");
    expect(hung.status).toBe(504);
    expect(hung.body.error.type).toBe("DeviceTimeoutError");
    expect((await s.req("GET", "/devices/hung")).body.connected).toBe(false);
  });

  test("a connect slower than connectTimeoutMs is 504 DeviceTimeoutError", async () => {
    await s.close();
    s = await startTestServer({ connectTimeoutMs: 50 });
    await addDevice("slow", "SlowConnectingDevice", { connectDelay: 1000 }, false);
    const r = await s.req("POST", "/devices/slow/connect");
    expect(r.status).toBe(504);
    expect(r.body.error.type).toBe("DeviceTimeoutError");
  });

  test("a connect on a slow device does not block /health", async () => {
    await addDevice("slow", "SlowConnectingDevice", { connectDelay: 3000 }, false);
    let connected = false;
    const connecting = s.req("POST", "/devices/slow/connect").then((r) => ((connected = true), r));
    await until(() => s.daemon.deviceState("slow").busy, 10_000, "the connect to reach the device");
    const h = await s.req("GET", "/health");
    expect(h.status).toBe(200);
    // Answered while the connect was still running: not queued behind it.
    expect(connected).toBe(false);
    expect((await connecting).status).toBe(200);
  });
});

describe("remote calls", () => {
  beforeEach(async () => {
    await addDevice("test_device");
  });

  test("calls return {result, success:true} and reach the device", async () => {
    const get = await s.req("POST", "/devices/test_device/call", { method: "getValue" });
    expect(get.status).toBe(200);
    expect(get.body).toEqual({ result: 0, success: true });
    const set = await s.req("POST", "/devices/test_device/call", { method: "setValue", args: [42] });
    expect(set.body.result).toBe(0);
    expect((s.daemon.getDeviceInstance("test_device") as MockDevice).value).toBe(42);
    expect((await s.req("POST", "/devices/test_device/call", { method: "addNumbers", args: [2, 3] })).body.result).toBe(
      5,
    );
    const d = await s.req("POST", "/devices/test_device/call", { method: "getValue", args: [], kwargs: {} });
    expect(d.body).toEqual({ result: 42, success: true });
  });

  test("kwargs map to parameters by name; unknown or doubled names are 400", async () => {
    const r = await s.req("POST", "/devices/test_device/call", { method: "addNumbers", args: [1], kwargs: { b: 10 } });
    expect(r.body.result).toBe(11);
    const unknown = await s.req("POST", "/devices/test_device/call", { method: "addNumbers", kwargs: { a: 1, c: 2 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("'c'");
    expect(unknown.body.error.context.parameters).toEqual(["a", "b"]);
    const twice = await s.req("POST", "/devices/test_device/call", {
      method: "addNumbers",
      args: [1],
      kwargs: { a: 2 },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toContain("multiple values");
  });

  test("hostile keyword names are not echoed back in full: at most 20 names of at most 80 characters", async () => {
    const kwargs = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${i}${"k".repeat(20_000)}`, 1]));
    const r = await s.req("POST", "/devices/test_device/call", { method: "addNumbers", kwargs });
    expect(r.status).toBe(400);
    expect(r.body.error.context.unknown).toHaveLength(20);
    for (const k of r.body.error.context.unknown) expect(k.length).toBeLessThanOrEqual(80);
    expect(r.text.length).toBeLessThan(8_000);
  });

  test("bad POST /call bodies get the messages Python LabDaemon clients match on (docs/COMPAT.md)", async () => {
    const cases: [unknown, number, string][] = [
      [{}, 400, "Method name is required"],
      [{ method: "_secret" }, 400, "Private methods cannot be called"],
      [{ method: "nonexistent_method" }, 404, "not found on device"],
      [{ method: "deviceId" }, 400, "is not a method"],
      [{ method: "computed" }, 400, "is not a method"],
      [{ method: "setValue", args: "not a list" }, 400, "'args' must be a list"],
      [{ method: "setValue", args: null }, 400, "'args' must be a list"],
      [{ method: "setValue", kwargs: "not a dict" }, 400, "'kwargs' must be a dict"],
      [{ method: "setValue", kwargs: [1] }, 400, "'kwargs' must be a dict"],
      [{ method: 42 }, 400, "Method name must be a string"],
    ];
    for (const [body, status, message] of cases) {
      const r = await s.req("POST", "/devices/test_device/call", body);
      expect({ body, status: r.status }).toEqual({ body, status });
      expect(r.body.error.message).toContain(message);
      expect(isEnvelope(r.body)).toBe(true);
    }
    expect((s.daemon.getDeviceInstance("test_device") as MockDevice).value).toBe(0);
  });

  test("constructor, __proto__, toString, lifecycle methods and Object.prototype members are refused", async () => {
    for (const method of [
      "constructor",
      "__proto__",
      "toString",
      "valueOf",
      "hasOwnProperty",
      "connect",
      "disconnect",
      "isConnected",
      "__defineGetter__",
      "#x",
    ]) {
      const r = await s.req("POST", "/devices/test_device/call", { method });
      expect([400, 404]).toContain(r.status);
      expect(isEnvelope(r.body)).toBe(true);
    }
    expect((s.daemon.getDeviceInstance("test_device") as MockDevice).connects).toBe(1);
  });

  test("a device exception is stored, readable and clearable", async () => {
    const r = await s.req("POST", "/devices/test_device/call", { method: "fail", args: ["Test error"] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      type: "RangeError",
      message: "Test error",
      origin: "device",
      context: { device_id: "test_device", method: "fail" },
    });
    const e = await s.req("GET", "/devices/test_device/error");
    expect(e.status).toBe(200);
    expect(e.body.error).toMatchObject({ type: "RangeError", message: "Test error", origin: "device" });
    expect(Object.keys(e.body.error)).toEqual(["type", "message", "origin", "timestamp", "traceback", "context"]);
    expect(e.body.error.traceback).toContain("RangeError: Test error");
    expect((await s.req("GET", "/devices")).body.devices[0].last_error.error.message).toBe("Test error");
    const del = await s.req("DELETE", "/devices/test_device/error");
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    const after = await s.req("GET", "/devices/test_device/error");
    expect(after.status).toBe(404);
    expect(after.body.error).toMatchObject({ type: "NoError", message: "No error recorded for device" });
    expect((await s.req("DELETE", "/devices/test_device/error")).status).toBe(404);
    expect((await s.req("GET", "/devices/nonexistent/error")).body.error.type).toBe("DeviceNotFound");
  });

  test("a second device error replaces the first in GET /devices/{id}/error", async () => {
    await addDevice("odd", "OddResultsDevice");
    expect((await s.req("POST", "/devices/odd/call", { method: "fail", args: ["First error"] })).status).toBe(400);
    const first = await s.req("GET", "/devices/odd/error");
    expect(first.body.error).toMatchObject({ type: "RangeError", message: "First error", origin: "device" });
    expect((await s.req("POST", "/devices/odd/call", { method: "internal" })).status).toBe(500);
    const second = await s.req("GET", "/devices/odd/error");
    expect(second.status).toBe(200);
    expect(second.body.error).toMatchObject({ type: "Error", message: "disk on fire", origin: "device" });
    expect(second.body.error.context.method).toBe("internal");
  });

  test("POST /devices/nonexistent/call is 404; a bodiless call is 422", async () => {
    expect((await s.req("POST", "/devices/nonexistent/call", { method: "getValue" })).status).toBe(404);
    const bodiless = await s.req("POST", "/devices/nonexistent/call");
    expect(bodiless.status).toBe(422);
    expect(bodiless.body.error.type).toBe("ValidationError");
  });

  test("failure classes map to status: DeviceError 400, DeviceTimeoutError 504, anything else 500", async () => {
    await addDevice("odd", "OddResultsDevice");
    const timeout = await s.req("POST", "/devices/odd/call", { method: "timeout" });
    expect(timeout.status).toBe(504);
    expect(timeout.body.error).toMatchObject({ type: "DeviceTimeoutError", origin: "device" });
    const internal = await s.req("POST", "/devices/odd/call", { method: "internal" });
    expect(internal.status).toBe(500);
    expect(internal.body.error).toMatchObject({ type: "Error", message: "disk on fire", origin: "device" });
    expect(internal.text).not.toContain("at ");
    const str = await s.req("POST", "/devices/odd/call", { method: "thrownString" });
    expect(str.status).toBe(500);
    expect(str.body.error.message).toBe("plain string");
    expect(isEnvelope(str.body)).toBe(true);
  });

  test("results are serialised safely: NaN/Infinity null, typed arrays arrays, bigints exact, cycles marked", async () => {
    await addDevice("odd", "OddResultsDevice");
    const call = async (method: string) => (await s.req("POST", "/devices/odd/call", { method })).body.result;
    expect(await call("nan")).toBeNull();
    expect(await call("infinities")).toEqual([null, null, 1]);
    expect(await call("floats")).toEqual([1.5, null, 2]);
    expect(await call("bytes")).toEqual([1, 2, 3]);
    expect(await call("big")).toBe((2n ** 70n).toString());
    // A bigint is a number while it is exact, its decimal string beyond (never a rounded number).
    expect(await call("bigs")).toEqual({
      small: 42,
      edge: 2 ** 53 - 1,
      beyond: "9007199254740992",
      negative: (-(2n ** 60n)).toString(),
      list: [1, (-(2n ** 62n)).toString()],
    });
    expect(await call("cycle")).toEqual({ a: 1, self: "[Circular]" });
    expect(await call("nothing")).toBeNull();
    expect(await call("map")).toEqual({ x: 1 });
  });

  test("a 3 s device call delays neither /health nor another device", async () => {
    await addDevice("other");
    const t0 = performance.now();
    let slowDone = false;
    const slow = s
      .req("POST", "/devices/test_device/call", { method: "slow", args: [3000] })
      .then((r) => ((slowDone = true), r));
    const health = await s.req("GET", "/health");
    const other = await s.req("POST", "/devices/other/call", { method: "hello" });
    const list = await s.req("GET", "/devices");
    expect(health.body.status).toBe("healthy");
    expect(other.body.result).toBe("Hello from other");
    expect(list.body.devices.find((d: any) => d.device_id === "test_device").busy).toBe(true);
    // All answered while the slow call was still running: none queued behind it.
    expect(slowDone).toBe(false);
    expect((await slow).body.result).toBe(3000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2900);
  });

  test("calls on one device are serialised in arrival order", async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, () => s.req("POST", "/devices/test_device/call", { method: "increment" })),
    );
    expect(rs.map((r) => r.body.result).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((s.daemon.getDeviceInstance("test_device") as MockDevice).counter).toBe(20);
  });
});

describe("typed methods (static methods metadata)", () => {
  beforeEach(async () => {
    await addDevice("laser1", "SchemaLaser");
  });

  test("GET /devices/{id}/methods lists methods alphabetically with parameters and docs", async () => {
    const r = await s.req("GET", "/devices/laser1/methods");
    expect(r.status).toBe(200);
    const names = r.body.methods.map((m: any) => m.name);
    expect(names).toEqual([...names].sort());
    for (const n of ["setValue", "getValue", "setWavelength", "scan"]) expect(names).toContain(n);
    // Exactly what /call accepts: lifecycle methods have their own routes.
    for (const n of ["connect", "disconnect", "isConnected"]) expect(names).not.toContain(n);
    expect(names).not.toContain("_secret");
    expect(names).not.toContain("constructor");
    expect(names).not.toContain("computed");
    const sw = r.body.methods.find((m: any) => m.name === "setWavelength");
    expect(sw.doc).toContain("nm");
    expect(sw.parameters[0]).toMatchObject({ name: "wavelength_nm", type: "number", required: true });
    expect(sw.parameters[1]).toMatchObject({ name: "unit", type: "string", required: false, default: "nm" });
    const sv = r.body.methods.find((m: any) => m.name === "setValue");
    expect(sv.parameters).toEqual([{ name: "value", type: "any", required: true }]);
    const scan = r.body.methods.find((m: any) => m.name === "scan");
    expect(scan.parameters).toEqual([
      { name: "start", type: "any", required: true },
      { name: "stop", type: "any", required: false, default: 10 },
      { name: "label", type: "any", required: false, default: "scan" },
      { name: "fast", type: "any", required: false, default: false },
      { name: "opts", type: "any", required: false, default: expect.stringContaining("a") },
      { name: "extra", type: "any", required: false },
    ]);
    const sweep = r.body.methods.find((m: any) => m.name === "sweep");
    expect(sweep.parameters.map((p: any) => [p.name, p.type, p.required])).toEqual([
      ["start_nm", "number", true],
      ["stop_nm", "number", true],
      ["points", "integer", false],
    ]);
    const power = r.body.methods.find((m: any) => m.name === "setPower");
    expect(power.parameters[0]).toMatchObject({ name: "mw", type: "number", required: false, default: 1 });
    expect((await s.req("GET", "/devices/nope/methods")).status).toBe(404);
  });

  test("listing methods never runs a getter", async () => {
    let reads = 0;
    s.daemon.registerPlugins({
      devices: {
        Gettery: class {
          get connect(): never {
            reads++;
            throw new Error("boom");
          }
          get value() {
            reads++;
            return 1;
          }
          ping() {
            return 1;
          }
        },
      },
    });
    await s.req("POST", "/devices", { device_id: "g", device_type: "Gettery" });
    const r = await s.req("GET", "/devices/g/methods");
    expect(r.status).toBe(200);
    expect(r.body.methods.map((m: any) => m.name)).toEqual(["ping"]);
    expect((await s.req("POST", "/devices/g/call", { method: "value" })).status).toBe(400);
    expect(reads).toBe(0);
  });

  test("arguments violating the schema are 422 ValidationError and never reach the device", async () => {
    const out = await s.req("POST", "/devices/laser1/call", { method: "setWavelength", args: [2000] });
    expect(out.status).toBe(422);
    expect(out.body.error.type).toBe("ValidationError");
    expect(out.body.error.context.errors[0].path).toBe("/0");
    const wrongType = await s.req("POST", "/devices/laser1/call", {
      method: "setWavelength",
      kwargs: { wavelength_nm: "1550" },
    });
    expect(wrongType.status).toBe(422);
    const missing = await s.req("POST", "/devices/laser1/call", { method: "setWavelength" });
    expect(missing.status).toBe(422);
    const tooMany = await s.req("POST", "/devices/laser1/call", { method: "setWavelength", args: [1550, "nm", 3] });
    expect(tooMany.status).toBe(422);
    const nested = await s.req("POST", "/devices/laser1/call", {
      method: "configure",
      args: [{ mode: "burst", rate: 1.5 }],
    });
    expect(nested.status).toBe(422);
    expect(nested.body.error.context.errors.length).toBeGreaterThan(0);
    expect((s.daemon.getDeviceInstance("laser1") as any).wavelength).toBe(1550);
    const ok = await s.req("POST", "/devices/laser1/call", {
      method: "setWavelength",
      kwargs: { wavelength_nm: 1560 },
    });
    expect(ok.body).toEqual({ result: "1560 nm", success: true });
    const named = await s.req("POST", "/devices/laser1/call", {
      method: "sweep",
      kwargs: { stop_nm: 1560, start_nm: 1550 },
    });
    expect(named.body.result).toEqual([1550, 1560, 11]);
    // t.Integer is Elysia's query-string union (integer | numeric string): over JSON a string is refused.
    const numericString = await s.req("POST", "/devices/laser1/call", { method: "sweep", args: [1550, 1560, "5"] });
    expect(numericString.status).toBe(422);
    expect(numericString.body.error.message).toBe("Invalid arguments for method 'sweep': points: Expected integer");
    expect(
      (
        await s.req("POST", "/devices/laser1/call", {
          method: "sweep",
          kwargs: { start_nm: 1550, stop_nm: 1560, points: 1 },
        })
      ).status,
    ).toBe(422);
    expect((await s.req("POST", "/devices/laser1/call", { method: "sweep", kwargs: { a: 1 } })).status).toBe(400);
    const optional = await s.req("POST", "/devices/laser1/call", { method: "setPower" });
    expect(optional.body.result).toBe(1);
  });
});

describe("stream stop", () => {
  test("a stream callback that throws is stored with origin callback", async () => {
    await addDevice("daq", "StreamingDevice");
    await s.daemon.startStreaming("daq", () => {
      throw new TypeError("bad sample");
    });
    await until(() => s.server.errors.deviceError("daq") !== null, 2000, "callback error");
    const e = await s.req("GET", "/devices/daq/error");
    expect(e.body.error).toMatchObject({ type: "TypeError", message: "bad sample", origin: "callback" });
    await s.daemon.stopStreaming("daq");
  });

  test("POST /devices/{id}/stream/stop refuses a stream started in-process (409), stops a subscriber-started one, is idempotent", async () => {
    await addDevice("daq", "StreamingDevice");
    let seen = 0;
    await s.daemon.startStreaming("daq", () => {
      seen++;
    });
    await until(() => seen > 0, 2000, "samples");
    const refused = await s.req("POST", "/devices/daq/stream/stop");
    expect(refused.status).toBe(409);
    expect(isEnvelope(refused.body)).toBe(true);
    expect(refused.body.error).toMatchObject({
      type: "DeviceInUse",
      context: { device_id: "daq", stream_started_by: "local" },
    });
    const before = seen;
    await until(() => seen > before, 2000, "the local stream to go on");
    await s.daemon.stopStreaming("daq");

    const sub = await s.daemon.subscribe("daq", () => {}); // what an SSE client does
    expect(s.daemon.deviceState("daq").streamStartedBy).toBe("subscribers");
    const r = await s.req("POST", "/devices/daq/stream/stop");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "stopped", device_id: "daq" });
    expect(s.daemon.deviceState("daq").streaming).toBe(false);
    expect((await s.req("POST", "/devices/daq/stream/stop")).status).toBe(200);
    expect((await s.req("POST", "/devices/none/stream/stop")).status).toBe(404);
    await sub.unsubscribe();
  });
});

describe("the daemon's lifetime", () => {
  test("after daemon.shutdown() HTTP can still read the devices but no longer drives them (503 DaemonClosed)", async () => {
    await addDevice("a");
    await s.daemon.shutdown({ timeoutMs: 500 });
    const dev = s.daemon.getDeviceInstance("a") as MockDevice;
    expect((await s.req("GET", "/devices")).status).toBe(200);
    const call = await s.req("POST", "/devices/a/call", { method: "setValue", args: [7] });
    const connect = await s.req("POST", "/devices/a/connect");
    for (const r of [call, connect]) {
      expect(r.status).toBe(503);
      expect(isEnvelope(r.body)).toBe(true);
      expect(r.body.error.type).toBe("DaemonClosed");
    }
    expect([dev.value, dev.connects, dev.disconnects]).toEqual([0, 1, 1]);
  });

  test("a call that fails after its device was removed does not land on a new device of that id", async () => {
    let fail!: (e: Error) => void;
    class FailsLater {
      late() {
        return new Promise((_, reject) => (fail = reject));
      }
    }
    s.daemon.registerPlugins({ devices: { FailsLater } });
    s.daemon.addDevice("q", "FailsLater");
    const late = s.req("POST", "/devices/q/call", { method: "late" });
    await until(() => fail !== undefined);
    await s.daemon.removeDevice("q");
    s.daemon.addDevice("q", "FailsLater");
    fail(new Error("late failure of the removed instance"));
    expect((await late).status).toBe(500);
    expect((await s.req("GET", "/devices/q/error")).status).toBe(404);
  });
});

describe("requests and methods at the edges", () => {
  test("a form or text body is refused with 422 before any route sees it: nothing is called", async () => {
    await addDevice("f");
    const dev = s.daemon.getDeviceInstance("f") as MockDevice;
    const form = await fetch(`${s.url}/devices/f/call`, {
      method: "POST",
      body: new URLSearchParams({ method: "setValue" }),
    });
    const multipart = new FormData();
    multipart.set("method", "setValue");
    const parts = await fetch(`${s.url}/devices/f/call`, { method: "POST", body: multipart });
    const text = await fetch(`${s.url}/devices`, {
      method: "POST",
      body: JSON.stringify({ device_id: "g", device_type: "MockDevice" }),
    }); // text/plain
    for (const r of [form, parts, text]) {
      expect(r.status).toBe(422);
      const body = (await r.json()) as { error: { message: string } };
      expect(isEnvelope(body)).toBe(true);
      expect(body.error.message).toContain("Content-Type: application/json");
    }
    expect(dev.value).toBe(0);
    expect(s.daemon.hasDevice("g")).toBe(false);
    // The same JSON with its type declared works, parameters and case as clients send them.
    const ok = await s.req("POST", "/devices/f/call", JSON.stringify({ method: "addNumbers", args: [1, 2] }), {
      "content-type": "Application/JSON; charset=utf-8",
    });
    expect([ok.status, ok.body.result]).toEqual([200, 3]);
    // ... on every route, not only /call's fast path: Elysia's parser knows only the lower-case spelling.
    const added = await s.req("POST", "/devices", JSON.stringify({ device_id: "g2", device_type: "MockDevice" }), {
      "content-type": "APPLICATION/JSON",
    });
    expect(added.status).toBe(200);
    expect(s.daemon.hasDevice("g2")).toBe(true);
  });

  test("a device method that fails to find another device is that method's failure, not a 404 for this device", async () => {
    const daemon = s.daemon;
    class Relay {
      readOther() {
        return daemon.getDevice("other");
      }
    }
    daemon.registerPlugins({ devices: { Relay } });
    daemon.addDevice("c", "Relay");
    const r = await s.req("POST", "/devices/c/call", { method: "readOther" });
    expect(r.status).toBe(500);
    expect(r.body.error).toMatchObject({
      type: "DeviceNotFound",
      origin: "device",
      context: { device_id: "c", method: "readOther" },
    });
    expect((await s.req("GET", "/devices/c")).status).toBe(200);
  });

  test("methods a class defines itself are callable even when Object has one of that name; then and constructor never are", async () => {
    class Named {
      toString() {
        return "named device";
      }
      valueOf() {
        return 42;
      }
    }
    s.daemon.registerPlugins({ devices: { Named } });
    s.daemon.addDevice("n", "Named");
    expect((await s.req("POST", "/devices/n/call", { method: "toString" })).body.result).toBe("named device");
    expect((await s.req("POST", "/devices/n/call", { method: "valueOf" })).body.result).toBe(42);
    for (const method of ["constructor", "then", "hasOwnProperty"]) {
      expect((await s.req("POST", "/devices/n/call", { method })).status).toBe(404);
    }
    const listed = (await s.req("GET", "/devices/n/methods")).body;
    expect(JSON.stringify(listed)).toContain("toString");
  });
});

test("a hung method answers /call with 504 at the server's bound when the device has none of its own", async () => {
  const t = await startTestServer({ callTimeoutMs: 100 });
  try {
    class Hangs {
      hang() {
        return new Promise(() => {});
      }
      quick() {
        return 1;
      }
    }
    t.daemon.registerPlugins({ devices: { Hangs } });
    t.daemon.addDevice("h", "Hangs");
    t.daemon.addDevice("own", "Hangs", {}, { callTimeoutMs: 30 });
    const t0 = performance.now();
    const r = await t.req("POST", "/devices/h/call", { method: "hang" });
    expect(r.status).toBe(504);
    expect(r.body.error).toMatchObject({
      type: "DeviceTimeoutError",
      message: "call 'hang' on device 'h' timed out after 100 ms",
    });
    // The call never settles: only the 100 ms default ended it.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    const own = await t.req("POST", "/devices/own/call", { method: "hang" });
    expect(own.body.error.message).toEndWith("after 30 ms"); // the device's own bound wins
  } finally {
    await t.close();
  }
});

test("a full call queue and the running-task limit are 503 Busy from the framework, and leave the device's last error alone", async () => {
  const { LabDaemon } = await import("../../src/index.ts");
  const { LabDaemonServer } = await import("../../src/server/index.ts");
  const daemon = new LabDaemon({ queueLimit: 2, maxRunningTasks: 1 });
  let release!: () => void;
  class Held {
    hold() {
      return new Promise<void>((r) => (release = r));
    }
    quick() {
      return 1;
    }
    fail() {
      throw new RangeError("real instrument fault");
    }
  }
  class Waits {
    run(ctx: { signal: AbortSignal }) {
      return new Promise((r) => ctx.signal.addEventListener("abort", r));
    }
  }
  daemon.registerPlugins({ devices: { Held }, tasks: { Waits } });
  const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
  await server.start();
  const post = (path: string, body: unknown) =>
    fetch(server.url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  try {
    daemon.addDevice("h", "Held");
    expect((await post("/devices/h/call", { method: "fail" })).status).toBe(400);
    const holding = post("/devices/h/call", { method: "hold" });
    await until(() => release !== undefined, 2000, "the held call");
    const waiting = [post("/devices/h/call", { method: "quick" }), post("/devices/h/call", { method: "quick" })];
    await until(() => daemon.deviceState("h").pending === 2, 2000, "two queued calls");
    const refused = await post("/devices/h/call", { method: "quick" });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { type: string; origin: string } }).error).toMatchObject({
      type: "Busy",
      origin: "framework",
    });
    const stored = (await (await fetch(`${server.url}/devices/h/error`)).json()) as { error: { type: string } };
    expect(stored.error.type).toBe("RangeError");
    release();
    expect((await holding).status).toBe(200);
    for (const w of waiting) expect((await w).status).toBe(200);

    expect((await post("/tasks", { task_id: "t1", task_type: "Waits" })).status).toBe(200);
    const second = await post("/tasks", { task_id: "t2", task_type: "Waits" });
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: { type: string } }).error.type).toBe("Busy");
  } finally {
    await server.stop();
    await daemon.shutdown({ timeoutMs: 500 });
  }
});
