// Device classes that leave out optional members (isStreaming, isConnected, or isConnected as a data
// property instead of a method): the daemon tracks what they do not report, and every route answers.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { until } from "../support/fixtures.ts";
import { RawStream } from "./sseSupport.ts";

let s: TestServer;
const streams: RawStream[] = [];
beforeEach(async () => {
  s = await startTestServer({ sse: { resumeGraceMs: 0, keepAliveMs: 60_000 } });
});
afterEach(async () => {
  for (const r of streams.splice(0)) r.close();
  await s.close();
});

async function addDevice(id: string, type: string, connect = false) {
  expect((await s.req("POST", "/devices", { device_id: id, device_type: type })).status).toBe(200);
  if (connect) expect((await s.req("POST", `/devices/${id}/connect`)).status).toBe(200);
}

/** A streaming device with start/stop only: whether it streams is known to the daemon alone. */
class NoIsStreamingDevice {
  static instances: NoIsStreamingDevice[] = [];
  cb: ((d: unknown) => void) | null = null;
  starts = 0;
  stops = 0;
  constructor(readonly deviceId: string) {
    NoIsStreamingDevice.instances.push(this);
  }
  connect() {}
  disconnect() {}
  isConnected() {
    return true;
  }
  startStreaming(cb: (d: unknown) => void) {
    this.starts++;
    this.cb = cb;
  }
  stopStreaming() {
    this.stops++;
    this.cb = null;
  }
}

describe("a device without isStreaming", () => {
  test("a device without isStreaming is stopped when its last SSE client leaves", async () => {
    s.daemon.registerPlugins({ devices: { NoIsStreamingDevice } });
    await addDevice("ns", "NoIsStreamingDevice", true);
    const dev = s.daemon.getDeviceInstance("ns") as NoIsStreamingDevice;
    const a = await RawStream.open(`${s.url}/stream/devices/ns`);
    const b = await RawStream.open(`${s.url}/stream/devices/ns`);
    streams.push(a, b);
    expect(a.status).toBe(200);
    const clients = () => s.server.sse.stats("ns")?.subscribers ?? 0;
    await until(() => clients() === 2 && s.daemon.deviceState("ns").streaming, 2000, "two SSE clients");
    expect(dev.starts).toBe(1);
    dev.cb!({ v: 1 });
    await a.until(() => a.data.length === 1);
    await b.until(() => b.data.length === 1);
    expect(a.data[0].payload).toEqual({ v: 1 });
    a.close();
    await until(() => clients() === 1, 2000, "one SSE client left");
    expect(dev.stops).toBe(0);
    b.close();
    await until(() => dev.stops === 1, 2000, "stopStreaming after the last client left");
    expect(dev.cb).toBeNull();
    expect((await s.req("GET", "/devices/ns")).body.streaming).toBe(false);
    expect(dev.starts).toBe(1);
  });
});

describe("a device without isConnected", () => {
  class NoIsConnected {
    connects = 0;
    constructor(readonly deviceId: string) {}
    connect() {
      this.connects++;
    }
    disconnect() {}
    hello() {
      return "hi";
    }
  }

  test("report connected:false everywhere until POST /connect calls connect() once", async () => {
    s.daemon.registerPlugins({ devices: { NoIsConnected } });
    const added = await s.req("POST", "/devices", { device_id: "nc", device_type: "NoIsConnected" });
    expect(added.status).toBe(200);
    expect(added.body.connected).toBe(false);
    const states = async () => [
      (await s.req("GET", "/devices")).body.devices.find((d: { device_id: string }) => d.device_id === "nc").connected,
      (await s.req("GET", "/devices/nc")).body.connected,
    ];
    expect(await states()).toEqual([false, false]);
    const dev = s.daemon.getDeviceInstance("nc") as NoIsConnected;
    expect(dev.connects).toBe(0);
    const c = await s.req("POST", "/devices/nc/connect");
    expect(c.status).toBe(200);
    expect(c.body.connected).toBe(true);
    expect(c.body.message).toBeUndefined();
    expect(dev.connects).toBe(1);
    expect(await states()).toEqual([true, true]);
  });
});

describe("isConnected as a data property", () => {
  test("list, detail, methods, connect and call all answer 200", async () => {
    class DataPropDevice {
      isConnected = true;
      connects = 0;
      constructor(readonly deviceId: string) {}
      connect() {
        this.connects++;
      }
      disconnect() {}
      getValue() {
        return 7;
      }
    }
    s.daemon.registerPlugins({ devices: { DataPropDevice } });
    expect((await s.req("POST", "/devices", { device_id: "dp", device_type: "DataPropDevice" })).status).toBe(200);
    const list = await s.req("GET", "/devices");
    expect(list.status).toBe(200);
    expect(typeof list.body.devices[0].connected).toBe("boolean");
    const detail = await s.req("GET", "/devices/dp");
    expect(detail.status).toBe(200);
    expect(typeof detail.body.connected).toBe("boolean");
    const methods = await s.req("GET", "/devices/dp/methods");
    expect(methods.status).toBe(200);
    const connect = await s.req("POST", "/devices/dp/connect");
    expect(connect.status).toBe(200);
    expect(connect.body.connected).toBe(true);
    expect((await s.req("GET", "/devices/dp")).body.connected).toBe(true);
    expect((await s.req("POST", "/devices/dp/call", { method: "getValue" })).body.result).toBe(7);
  });
});
