import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { readdirSync } from "node:fs";
import { SerialPortStream } from "@serialport/stream";
import { ReadlineParser } from "@serialport/parser-readline";
import { ResourceManager } from "../../src/io/index.ts";
import { LabDaemonSerialBinding } from "../../src/io/serialBinding.ts";
import { servePty, type PtySim } from "../../drivers/sim/scpi/serialPty.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConfigurationError, DeviceConnectionError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { expectOrderedQueries } from "../support/ordering.ts";
import { childrenNamed, running } from "../support/processes.ts";
import { dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let sim: PtySim;

beforeAll(async () => {
  sim = await servePty(new SimulatedInstrument(dmm));
});
afterAll(async () => {
  await rm.close();
  await sim.close();
});

describe("serial over a socat pty pair", () => {
  test("ASRL resource: query, binary block, timeout", async () => {
    const inst = await rm.open(sim.resource, { baudRate: 115200, timeoutMs: 1000 });
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect([...(await inst.queryBinaryBlock("CURV:BE?", { bigEndian: true }))]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    inst.timeoutMs = 100;
    const err = await inst.query("HANG?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe(sim.resource);
    inst.timeoutMs = 1000;
    await inst.clear();
    expect(await inst.query("VOLT?")).toMatch(/^\d+\.\d{3}$/);
    // A serial port has no service requests: refused, and the port goes on answering.
    const srq = await inst.onServiceRequest(() => undefined).catch((e) => e);
    expect(srq).toBeInstanceOf(DeviceConfigurationError);
    expect(srq.message).toContain("serial ports have no service requests");
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    await inst.close();
  });

  test("a bare device path opens the same port; 1,000 queries from concurrent callers are answered in order", async () => {
    const inst = await rm.open(sim.path, { baudRate: 115200, timeoutMs: 30_000 }); // per query, a hang guard: see ordering.ts
    await expectOrderedQueries(inst);
    await inst.close();
  });

  test("the other end going away mid-read is a DeviceConnectionError at once; the session reconnects when the port is back", async () => {
    const link = `/tmp/labdaemon-sim-gone-${process.pid}`;
    let other = await servePty(new SimulatedInstrument(dmm), link);
    const inst = await rm.open(other.resource, { timeoutMs: 20_000 });
    try {
      expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
      const t0 = performance.now();
      const pending = inst.query("HANG?").catch((e) => e); // the simulator never answers this
      await other.close(); // socat ends: the pty pair is gone
      const err = await pending;
      expect(err).toBeInstanceOf(DeviceConnectionError);
      expect(err.context).toMatchObject({ resource: other.resource, codeName: "EIO" });
      expect(performance.now() - t0).toBeLessThan(10_000); // not the 20 s timeout
      // While it is away: a clear error naming the path, not a hang.
      const away = await inst.query("*IDN?").catch((e) => e);
      expect(away).toBeInstanceOf(DeviceConnectionError);
      expect(away.context.codeName).toBe("ENOENT");
      other = await servePty(new SimulatedInstrument(dmm), link);
      expect(await inst.query("*IDN?")).toStartWith("LabDaemon"); // the same instrument object goes on
    } finally {
      await inst.close();
      await other.close();
    }
  });

  test("a rate termios has no constant for (250000) is set through termios2", async () => {
    const inst = await rm.open(sim.resource, { baudRate: 250000 });
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
    const err = await rm.open(sim.resource, { baudRate: -5 }).catch((e) => e);
    expect(err.name).toBe("DeviceConfigurationError");
    expect(err.message).toContain("baud rate -5");
  });

  test("a missing port is a DeviceConnectionError with ENOENT", async () => {
    const err = await rm.open("ASRL/dev/does-not-exist::INSTR").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context).toMatchObject({ resource: "ASRL/dev/does-not-exist::INSTR", codeName: "ENOENT" });
  });

  test("the serial binding refuses a bad baud rate with a DeviceConfigurationError carrying the path and EINVAL", async () => {
    const err = await LabDaemonSerialBinding.open({ path: sim.path, baudRate: -5 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("baud rate -5");
    expect(err.context).toMatchObject({ resource: sim.path, codeName: "EINVAL" });
  });

  test("the serial binding's threads end with close() and with a failed open, not at GC", async () => {
    const threads = () => readdirSync("/proc/self/task").length;
    const before = threads();
    for (let i = 0; i < 10; i++) {
      const port = await LabDaemonSerialBinding.open({ path: sim.path, baudRate: 115200 });
      await port.close();
      const err = await LabDaemonSerialBinding.open({ path: "/dev/does-not-exist", baudRate: 9600 }).catch((e) => e);
      expect(err.context).toMatchObject({ resource: "/dev/does-not-exist", codeName: "ENOENT" });
    }
    for (let i = 0; i < 1000 && threads() > before + 2; i++) await Bun.sleep(10); // up to 10 s on a loaded machine
    expect(threads()).toBeLessThanOrEqual(before + 2);
  });

  test("a pty simulator whose serial side fails to open, or whose start is aborted, leaves no socat behind", async () => {
    const before = new Set(childrenNamed(process.pid, "socat"));
    const open = spyOn(LabDaemonSerialBinding, "open").mockRejectedValueOnce(new Error("cannot open the sim end"));
    try {
      const err = await servePty(new SimulatedInstrument(dmm)).catch((e) => e);
      expect(err.message).toBe("cannot open the sim end");
    } finally {
      open.mockRestore();
    }
    // Aborted once socat is spawned, before it is ready: the start gives up at once and stops it.
    const aborting = new AbortController();
    const aborted = servePty(new SimulatedInstrument(dmm), undefined, aborting.signal);
    aborting.abort(new Error("stopped while starting"));
    expect((await aborted.catch((e) => e)).message).toBe("stopped while starting");
    const left = childrenNamed(process.pid, "socat").filter((pid) => !before.has(pid) && running(pid));
    expect(left).toEqual([]);
  });

  test("@serialport/stream + ReadlineParser over the addon's binding", async () => {
    const port = new SerialPortStream({
      binding: LabDaemonSerialBinding,
      path: sim.path,
      baudRate: 115200,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    const lines = port.pipe(new ReadlineParser({ delimiter: "\n" }));
    const received: string[] = [];
    const twoLines = new Promise<void>((resolve) =>
      lines.on("data", (line: string) => {
        received.push(line);
        if (received.length === 2) resolve();
      }),
    );
    port.write("*IDN?\n");
    port.write("READ?\n");
    await twoLines;
    expect(received).toEqual(["LabDaemon,SimDMM,0001,1.0", "1.25,2.5,-3.75"]);
    expect(await port.port!.getBaudRate()).toEqual({ baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.close((e: Error | null) => (e ? reject(e) : resolve())));
    expect(port.isOpen).toBe(false);
  });
});
