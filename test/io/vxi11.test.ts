import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ResourceManager } from "../../src/io/index.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConnectionError, DeviceOperationError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { expectOrderedQueries } from "../support/ordering.ts";
import { dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let sim: Vxi11Sim;
let other: Vxi11Sim;

beforeAll(async () => {
  sim = await serveVxi11(new SimulatedInstrument(dmm), "inst0");
  other = await serveVxi11(new SimulatedInstrument({ dialogues: [{ q: "*IDN?", r: "Other,Sim,2,0" }] }), "gpib0,7");
});
afterAll(async () => {
  await rm.close();
  await sim.close();
  await other.close();
});

describe("VXI-11 (portmapper lookup, core channel)", () => {
  test("query through create_link/device_write/device_read; the LAN device name picks the instrument", async () => {
    const inst = await rm.open("TCPIP::127.0.0.1::INSTR"); // inst0 by default
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    const gpib = await rm.open("TCPIP0::127.0.0.1::gpib0,7::INSTR");
    expect(await gpib.query("*IDN?")).toBe("Other,Sim,2,0");
    await gpib.close();
    await inst.close();
  });

  test("binary blocks holding the term char, and a 1 MB block in device_read chunks", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 5000 });
    // 10.0 as float32 little endian is 00 00 20 41, and 0x0a (the term char) appears in the ramp's bytes.
    await inst.write("POIN 4096");
    const ramp = await inst.queryBinaryBlock("CURV?");
    expect(ramp.length).toBe(4096);
    expect(ramp[4095]).toBe(4095);
    expect([...(await inst.queryBinaryBlock("WAV:I16?", { datatype: "int16", bigEndian: true }))]).toEqual([
      -3, -2, -1, 0, 1, 2, 3, 32767,
    ]);
    await inst.write("POIN 262144");
    const big = await inst.queryBinaryBlock("CURV?");
    expect(big.length).toBe(262144);
    expect(big[262143]).toBe(262143);
    await inst.write("POIN 16");
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("a silent instrument answers device_read with error 15: DeviceTimeoutError with the VXI-11 code", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 200 });
    const err = await inst.query("HANG?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context).toMatchObject({ resource: sim.resource, code: 15, codeName: "VXI11_IO_TIMEOUT" });
    inst.timeoutMs = 20_000; // an answered query: a hang guard
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("device_clear drops an unread answer", async () => {
    const inst = await rm.open(sim.resource);
    await inst.write("*IDN?");
    await inst.clear();
    expect(await inst.query("VOLT?")).toMatch(/^\d+\.\d{3}$/);
    await inst.close();
  });

  test("a peer that closes mid-read gives DeviceConnectionError; the next request makes a new link", async () => {
    const inst = await rm.open(sim.resource);
    const err = await inst.query("DROP?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context.resource).toBe(sim.resource);
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("device_lock excludes another link until unlocked", async () => {
    const a = await rm.open(sim.resource, { timeoutMs: 20_000 }); // never waits: a hang guard
    const b = await rm.open(sim.resource, { timeoutMs: 300 });
    await a.lock();
    const err = await b.query("*IDN?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceOperationError);
    expect(err.context.code).toBe(11);
    await expect(b.lock()).rejects.toBeInstanceOf(DeviceTimeoutError);
    await a.unlock();
    b.timeoutMs = 20_000;
    expect(await b.query("*IDN?")).toStartWith("LabDaemon");
    await a.close();
    await b.close();
  });

  test("an unknown LAN device name is refused by create_link", async () => {
    const err = await rm.open("TCPIP::127.0.0.1::nosuch::INSTR").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context).toMatchObject({ code: 3 });
  });

  test("1,000 queries from concurrent callers are answered in order", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 30_000 }); // per query, a hang guard: see ordering.ts
    await expectOrderedQueries(inst);
    await inst.close();
  });
});
