// Service requests over VXI-11's interrupt channel (create_intr_chan, device_enable_srq, device_intr_srq):
// a measurement's completion is awaited by SRQ, not by polling.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ResourceManager } from "../../src/io/index.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConfigurationError, DeviceTimeoutError } from "../../src/core/errors.ts";

const meter = {
  dialogues: [{ q: "*IDN?", r: "LabDaemon,SlowMeter,1,1.0" }],
  operations: [{ q: "MEAS:START", ms: 150 }],
};
const rm = new ResourceManager();
let sim: Vxi11Sim;
let socketSim: SocketSimServer;

beforeAll(async () => {
  sim = await serveVxi11(new SimulatedInstrument(meter), "srq0");
  socketSim = new SocketSimServer(new SimulatedInstrument(meter));
});
afterAll(async () => {
  await rm.close();
  await sim.close();
  socketSim.close();
});

describe("VXI-11 service requests", () => {
  test("waitForServiceRequest resolves when the operation started before *OPC completes", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 2000 });
    const srq = inst.waitForServiceRequest({ timeoutMs: 10_000 });
    const t0 = performance.now();
    await inst.write("MEAS:START");
    await inst.write("*OPC");
    await srq;
    // Not before the 150 ms operation was over: the request signals its completion.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await inst.query("*STB?")).toBe("64"); // RQS was set; reading it clears it
    expect(await inst.query("*STB?")).toBe("0");
    await inst.close();
  });

  test("onServiceRequest calls its handler for each request until removed", async () => {
    const inst = await rm.open(sim.resource);
    let calls = 0;
    let next = Promise.withResolvers<void>();
    const off = await inst.onServiceRequest(() => {
      calls++;
      next.resolve();
    });
    await inst.write("*OPC");
    await next.promise;
    next = Promise.withResolvers<void>();
    await inst.write("*OPC");
    await next.promise;
    expect(calls).toBe(2);
    off();
    const third = inst.waitForServiceRequest({ timeoutMs: 10_000 }); // still delivered to other waiters
    await inst.write("*OPC");
    await third;
    expect(calls).toBe(2);
    await inst.close();
  });

  test("no request within the timeout is a DeviceTimeoutError naming the resource", async () => {
    const inst = await rm.open(sim.resource);
    const err = await inst.waitForServiceRequest({ timeoutMs: 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe(sim.resource);
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon"); // the instrument is unaffected
    await inst.close();
  });

  test("a raw socket has no service requests: DeviceConfigurationError at once", async () => {
    const inst = await rm.open(socketSim.resource);
    await expect(inst.onServiceRequest(() => undefined)).rejects.toBeInstanceOf(DeviceConfigurationError);
    await expect(inst.waitForServiceRequest({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(DeviceConfigurationError);
    await inst.close();
  });
});
