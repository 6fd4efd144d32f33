// Interfaces that mark a message's end (VXI-11 END, HiSLIP DataEnd) against a raw socket, which has none:
// binary reads without a read termination, and block reads answered by a whole message without a block.
// Each interface on the event loop, VXI-11 on a native session thread too; the simulators answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HislipSimServer } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { DeviceOperationError } from "../../src/core/errors.ts";
import { ResourceManager } from "../../src/io/index.ts";
import { dmm } from "../support/simDevices.ts";

let hislip: HislipSimServer;
let socket: SocketSimServer;
let vxi: Vxi11Sim;
const managers = { "event-loop": new ResourceManager(), native: new ResourceManager({ netIo: "native" }) };

beforeAll(async () => {
  hislip = new HislipSimServer(new SimulatedInstrument(dmm));
  socket = new SocketSimServer(new SimulatedInstrument(dmm));
  vxi = await serveVxi11(new SimulatedInstrument(dmm), "eom0");
});
afterAll(async () => {
  await managers["event-loop"].close();
  await managers.native.close();
  hislip.close();
  socket.close();
  await vxi.close();
});

/** Every interface and session kind: [label, resource, manager]. */
function cases(endOnly = false): Array<[string, () => string, ResourceManager]> {
  const all: Array<[string, () => string, ResourceManager]> = [
    ["VXI-11, event loop", () => vxi.resource, managers["event-loop"]],
    ["VXI-11, native", () => vxi.resource, managers.native],
    ["HiSLIP, event loop", () => hislip.resource, managers["event-loop"]],
  ];
  return endOnly ? all : [["SOCKET, event loop", () => socket.resource, managers["event-loop"]], ...all];
}

const WAVE = [0.5, -1.25, 1e-9, 3e12];

describe("readTermination: null", () => {
  for (const [label, resource, rm] of cases()) {
    test(`${label}: block queries and reads, one after another, each get their own block`, async () => {
      const inst = await rm.open(resource(), { timeoutMs: 20_000, readTermination: null });
      expect([...(await inst.queryBinaryBlock("WAV:F64?", { datatype: "float64" }))]).toEqual(WAVE);
      await inst.write("WAV:F64?");
      expect([...(await inst.readBinaryBlock({ datatype: "float64" }))]).toEqual(WAVE);
      expect([...(await inst.queryBinaryBlock("WAV:F64?", { datatype: "float64" }))]).toEqual(WAVE);
      await inst.close();
    });
  }

  for (const [label, resource, rm] of cases(true)) {
    test(`${label}: a read without a termination returns the whole message, up to END`, async () => {
      const inst = await rm.open(resource(), { timeoutMs: 20_000, readTermination: null });
      await inst.write("POIN 200000");
      await inst.write("CURV?"); // an 800,000-byte block, and the newline the instrument ends it with
      const whole = await inst.readRaw("");
      expect(whole.byteLength).toBe(2 + 6 + 800_000 + 1);
      expect(new TextDecoder().decode(whole.subarray(0, 8))).toBe("#6800000");
      await inst.write("*IDN?");
      expect(new TextDecoder().decode(await inst.readRaw(""))).toBe("LabDaemon,SimDMM,0001,1.0\n");
      await inst.close();
    });
  }
});

describe("a block read answered by a whole message without a block", () => {
  for (const [label, resource, rm] of cases(true)) {
    test(`${label}: fails naming the answer, and takes it, so the next read gets its own`, async () => {
      // The instrument ends its answers with "\n" and END: "\r\n" is never seen, END ends the message.
      const inst = await rm.open(resource(), { timeoutMs: 20_000, readTermination: "\r\n" });
      await inst.write("*IDN?");
      const err = await inst.readBinaryBlock().catch((e) => e);
      expect(err).toBeInstanceOf(DeviceOperationError);
      expect(err.message).toContain("expected an IEEE 488.2 block, got the answer 'LabDaemon,SimDMM,0001,1.0");
      await inst.write("VOLT?");
      expect(await inst.read()).toBe("1.500\n");
      await inst.close();
    });
  }
});
