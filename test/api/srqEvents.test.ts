// Service requests forwarded by a device: a ScpiInstrument on the simulator (VXI-11 and HiSLIP) hands each
// SRQ to the daemon (`srq` events in-process), and the server publishes it as `device_srq` on the device's
// SSE stream, even though the device has no data stream of its own.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { ScpiInstrument } from "../../drivers/scpiInstrument.ts";
import { HislipSimServer } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { LabDaemon, type ServiceRequestEvent } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { until } from "../support/fixtures.ts";
import { RawStream } from "./sseSupport.ts";

const meter = {
  dialogues: [{ q: "*IDN?", r: "LabDaemon,SlowMeter,1,1.0" }],
  properties: { volt: { default: 4.25, getter: { q: "MEAS:VOLT?", r: "{:.2f}" } } },
  operations: [{ q: "MEAS:START", ms: 100 }],
};
let vxi11: Vxi11Sim;
let hislip: HislipSimServer;
let socketSim: SocketSimServer;

beforeAll(async () => {
  vxi11 = await serveVxi11(new SimulatedInstrument(meter), "srqapi0");
  hislip = new HislipSimServer(new SimulatedInstrument(meter));
  socketSim = new SocketSimServer(new SimulatedInstrument(meter));
});
afterAll(async () => {
  await vxi11.close();
  hislip.close();
  socketSim.close();
});

describe("in-process: the daemon emits srq events", () => {
  test("a measurement's completion awaited by the forwarded SRQ, over VXI-11 and HiSLIP", async () => {
    const daemon = new LabDaemon();
    daemon.registerPlugins({ devices: { ScpiInstrument } });
    try {
      for (const [id, resource] of [
        ["vx", vxi11.resource],
        ["hs", hislip.resource],
      ] as const) {
        await daemon.addDevice(id, "ScpiInstrument", { resource, serviceRequests: true });
        await daemon.connectDevice(id);
        const meterDevice = daemon.getDevice<ScpiInstrument>(id);
        expect(daemon.forwardsServiceRequests(id)).toBe(true);
        await meterDevice.enableServiceRequests(); // *ESE 1, *SRE 32
        const srq = new Promise<ServiceRequestEvent>((resolve) => {
          const off = daemon.on("srq", (e) => {
            if (e.deviceId !== id) return;
            off();
            resolve(e);
          });
        });
        await meterDevice.write("MEAS:START");
        await meterDevice.write("*OPC");
        const e = await srq;
        expect(e).toEqual({ deviceId: id, statusByte: 0x60, timestamp: expect.stringMatching(/\+00:00$/) });
        expect(await meterDevice.query("MEAS:VOLT?")).toBe("4.25");
        await daemon.removeDevice(id);
      }
    } finally {
      await daemon.shutdown({ timeoutMs: 2000 });
    }
  });

  test("serviceRequests on a resource without them fails the connect, and the device stays unconnected", async () => {
    const daemon = new LabDaemon();
    daemon.registerPlugins({ devices: { ScpiInstrument } });
    try {
      await daemon.addDevice("raw", "ScpiInstrument", { resource: socketSim.resource, serviceRequests: true });
      const err = await daemon.connectDevice("raw").catch((e) => e);
      expect(err.name).toBe("DeviceConfigurationError");
      expect(daemon.deviceState("raw").connected).toBe(false);
    } finally {
      await daemon.shutdown({ timeoutMs: 2000 });
    }
  });
});

/** A device with no data stream that forwards service requests: its SSE clients listen only for those. */
class SrqOnly {
  forward: ((statusByte: number | null) => void) | null = null;
  connect() {}
  attachServiceRequests(forward: (statusByte: number | null) => void) {
    this.forward = forward;
  }
}

describe("over HTTP: device_srq on /stream/devices/{id}", () => {
  let s: TestServer;
  let stream: RawStream | null = null;
  beforeAll(async () => {
    s = await startTestServer();
    s.daemon.registerPlugins({ devices: { ScpiInstrument, SrqOnly } });
  });
  afterEach(() => {
    stream?.close();
    stream = null;
  });
  afterAll(() => s.close());

  test("an SRQ raised after *OPC arrives as a device_srq event with the status byte", async () => {
    const add = await s.req("POST", "/devices", {
      device_id: "dmm",
      device_type: "ScpiInstrument",
      params: { resource: vxi11.resource },
    });
    expect(add.status).toBe(200);
    expect((await s.req("POST", "/devices/dmm/connect")).status).toBe(200);
    stream = await RawStream.open(`${s.url}/stream/devices/dmm`);
    expect(stream.status).toBe(200);
    await stream.until(() => stream!.comments > 0, 5000, "the stream's opening comment");
    const call = (method: string, args: unknown[] = []) =>
      s.req("POST", "/devices/dmm/call", { method, args }).then((r) => {
        expect({ method, status: r.status }).toEqual({ method, status: 200 });
        return r.body;
      });
    await call("enableServiceRequests", [1, 32]);
    await call("write", ["MEAS:START"]);
    await call("write", ["*OPC"]);
    await stream.until(() => stream!.events.some((e) => e.event === "device_srq"), 10_000, "device_srq");
    const ev = stream.events.find((e) => e.event === "device_srq")!;
    expect(ev.id).toBeUndefined(); // outside the data sequence: Last-Event-ID is left alone
    expect(JSON.parse(ev.data)).toEqual({
      event: "device_srq",
      device_id: "dmm",
      timestamp: expect.stringMatching(/\+00:00$/),
      status_byte: 0x60,
    });
    expect((await call("query", ["MEAS:VOLT?"])).result).toBe("4.25"); // the measurement is complete
  });

  test("removing a device that only forwards service requests ends its clients' streams with stream_error DeviceRemoved", async () => {
    expect((await s.req("POST", "/devices", { device_id: "srq1", device_type: "SrqOnly" })).status).toBe(200);
    expect((await s.req("POST", "/devices/srq1/connect")).status).toBe(200);
    stream = await RawStream.open(`${s.url}/stream/devices/srq1`);
    expect(stream.status).toBe(200);
    await stream.until(() => stream!.comments > 0, 5000, "the stream's opening comment");
    (s.daemon.getDeviceInstance("srq1") as SrqOnly).forward!(0x40);
    await stream.until(() => stream!.events.some((e) => e.event === "device_srq"), 5000, "device_srq");
    expect((await s.req("DELETE", "/devices/srq1")).status).toBeLessThan(300);
    await stream.until(() => stream!.ended, 5000, "the stream to end");
    const last = stream.events.at(-1)!;
    expect(last.event).toBe("stream_error");
    expect(JSON.parse(last.data)).toEqual({
      device_id: "srq1",
      timestamp: expect.stringMatching(/\+00:00$/),
      error: { type: "DeviceRemoved", message: "device 'srq1' was removed" },
    });
    await until(() => s.server.sse.connections().length === 0, 5000, "the server to let go of the connection");
  });
});
