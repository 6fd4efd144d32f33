// Service requests: a measurement's completion awaited by SRQ, not by polling, over VXI-11's interrupt
// channel (create_intr_chan, device_enable_srq, device_intr_srq, then device_readstb) and HiSLIP's
// asynchronous channel (AsyncServiceRequest with the status byte); interfaces without them refuse.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ResourceManager, type MessageInstrument } from "../../src/io/index.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { HislipSimServer } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConfigurationError, DeviceNotConnectedError, DeviceTimeoutError } from "../../src/core/errors.ts";

const meter = {
  dialogues: [{ q: "*IDN?", r: "LabDaemon,SlowMeter,1,1.0" }],
  properties: { volt: { default: 4.25, getter: { q: "MEAS:VOLT?", r: "{:.2f}" } } },
  operations: [{ q: "MEAS:START", ms: 150 }],
};
const OPERATION_COMPLETE_SRQ = 0x60; // RQS (bit 6) and ESB (bit 5), as the serial poll reads them
const rm = new ResourceManager();
let vxi11: Vxi11Sim;
let hislip: HislipSimServer;
let socketSim: SocketSimServer;

beforeAll(async () => {
  vxi11 = await serveVxi11(new SimulatedInstrument(meter), "srq0");
  hislip = new HislipSimServer(new SimulatedInstrument(meter));
  socketSim = new SocketSimServer(new SimulatedInstrument(meter));
});
afterAll(async () => {
  await rm.close();
  await vxi11.close();
  hislip.close();
  socketSim.close();
});

/** *ESE 1 and *SRE 32: operation complete (after *OPC) sets ESB, and ESB requests service. */
async function enableOpcRequests(inst: MessageInstrument): Promise<void> {
  await inst.write("*CLS");
  await inst.write("*ESE 1");
  await inst.write("*SRE 32");
}

for (const [name, resource] of [
  ["VXI-11", () => vxi11.resource],
  ["HiSLIP", () => hislip.resource],
] as const) {
  describe(`${name} service requests`, () => {
    test("a measurement's completion is awaited by SRQ, and the handler gets the status byte", async () => {
      const inst = await rm.open(resource(), { timeoutMs: 2000 });
      await enableOpcRequests(inst);
      const srq = inst.waitForServiceRequest({ timeoutMs: 10_000 });
      const t0 = performance.now();
      await inst.write("MEAS:START");
      await inst.write("*OPC");
      expect(await srq).toBe(OPERATION_COMPLETE_SRQ);
      // Not before the 150 ms operation was over: the request signals its completion.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      expect(await inst.query("MEAS:VOLT?")).toBe("4.25");
      // The serial poll cleared RQS; *STB? still shows MSS until *ESR? clears the event.
      expect(await inst.query("*STB?")).toBe("96");
      expect(await inst.query("*ESR?")).toBe("1");
      expect(await inst.query("*STB?")).toBe("0");
      await inst.close();
    });

    test("onServiceRequest calls its handler for each request until removed", async () => {
      const inst = await rm.open(resource());
      await enableOpcRequests(inst);
      const bytes: (number | null)[] = [];
      let next = Promise.withResolvers<void>();
      const off = await inst.onServiceRequest((stb) => {
        bytes.push(stb);
        next.resolve();
      });
      await inst.write("*OPC");
      await next.promise;
      // A new request needs a new reason: the event is read (and cleared) first.
      expect(await inst.query("*ESR?")).toBe("1");
      next = Promise.withResolvers<void>();
      await inst.write("*OPC");
      await next.promise;
      expect(bytes).toEqual([OPERATION_COMPLETE_SRQ, OPERATION_COMPLETE_SRQ]);
      off();
      await inst.write("*CLS");
      const third = inst.waitForServiceRequest({ timeoutMs: 10_000 }); // still delivered to other waiters
      await inst.write("*OPC");
      await third;
      expect(bytes.length).toBe(2);
      await inst.close();
    });

    test("after close, onServiceRequest and waitForServiceRequest refuse: DeviceNotConnectedError", async () => {
      const inst = await rm.open(resource());
      const off = await inst.onServiceRequest(() => undefined);
      off();
      await inst.close();
      await expect(inst.onServiceRequest(() => undefined)).rejects.toBeInstanceOf(DeviceNotConnectedError);
      await expect(inst.waitForServiceRequest({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(DeviceNotConnectedError);
    });

    test("without *SRE enabling it, *OPC raises no request: a DeviceTimeoutError naming the resource", async () => {
      const inst = await rm.open(resource());
      await inst.write("*CLS");
      await inst.write("*SRE 0");
      await inst.write("*OPC");
      const err = await inst.waitForServiceRequest({ timeoutMs: 300 }).catch((e) => e);
      expect(err).toBeInstanceOf(DeviceTimeoutError);
      expect(err.context.resource).toBe(resource());
      expect(await inst.query("*ESR?")).toBe("1"); // the event happened; it just was not enabled
      expect(await inst.query("*IDN?")).toStartWith("LabDaemon"); // the instrument is unaffected
      await inst.close();
    });
  });
}

test("a raw socket has no service requests: DeviceConfigurationError at once", async () => {
  const inst = await rm.open(socketSim.resource);
  await expect(inst.onServiceRequest(() => undefined)).rejects.toBeInstanceOf(DeviceConfigurationError);
  await expect(inst.waitForServiceRequest({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(DeviceConfigurationError);
  await inst.close();
});
