import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { ResourceManager, SampleRing } from "../../src/io/index.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceOperationError, DeviceTimeoutError } from "../../src/core/errors.ts";
import type { WireFormat } from "../../src/io/acquisition.ts";
import { dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let sim: SocketSimServer;
beforeAll(() => {
  sim = new SocketSimServer(new SimulatedInstrument(dmm));
});
afterAll(async () => {
  await rm.close();
  sim.close();
});

function nextWake(): { wake: () => void; next: () => Promise<void> } {
  let resolve: (() => void) | null = null;
  return {
    wake: () => resolve?.(),
    next: () => new Promise<void>((r) => (resolve = r)),
  };
}

describe("native acquisition into a SampleRing", () => {
  test("every sample of 40 binary-block answers arrives in the ring, in order", async () => {
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 1 << 16, dtype: "float64" });
    const got: number[] = [];
    let wakes = 0;
    const acq = inst.startAcquisition({
      command: "FETC?",
      format: "float32",
      ring,
      maxExchanges: 40,
      onSamples: () => {
        wakes++;
        got.push(...ring.drain());
      },
    });
    expect(await acq.ended).toBeNull();
    got.push(...ring.drain());
    // FETC? answers 256 float32 values continuing a counter: 40 answers are 0..10239 exactly once.
    expect(got.length).toBe(40 * 256);
    for (let i = 0; i < got.length; i++) if (got[i] !== i) throw new Error(`sample ${i} is ${got[i]}`);
    expect(wakes).toBeGreaterThan(0);
    expect(wakes).toBeLessThanOrEqual(41);
    expect(acq.stats()).toMatchObject({ running: false, exchanges: 40, samples: 10240, pushed: 10240, error: null });
    // The instrument stays usable between and after exchanges.
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("ASCII answers, big-endian int16 blocks, interleaved with the instrument's other requests", async () => {
    const inst = await rm.open(sim.resource);
    const ascii = new SampleRing({ capacity: 1024, dtype: "float32" });
    const a = inst.startAcquisition({ command: "READ?", ring: ascii, maxExchanges: 5, intervalMs: 1 });
    const idn = inst.query("*IDN?"); // queued between exchanges on the same I/O thread
    expect(await a.ended).toBeNull();
    expect(await idn).toStartWith("LabDaemon");
    expect([...ascii.drain()]).toEqual([
      1.25, 2.5, -3.75, 1.25, 2.5, -3.75, 1.25, 2.5, -3.75, 1.25, 2.5, -3.75, 1.25, 2.5, -3.75,
    ]);
    const ints = new SampleRing({ capacity: 64, dtype: "int16" });
    const b = inst.startAcquisition({
      command: "WAV:I16?",
      format: "int16",
      bigEndian: true,
      ring: ints,
      maxExchanges: 2,
    });
    expect(await b.ended).toBeNull();
    expect([...ints.drain()]).toEqual([-3, -2, -1, 0, 1, 2, 3, 32767, -3, -2, -1, 0, 1, 2, 3, 32767]);
    await inst.close();
  });

  test("a silent instrument stops the loop with a recorded DeviceTimeoutError", async () => {
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 1024, dtype: "float64" });
    const acq = inst.startAcquisition({ command: "HANG?", ring, timeoutMs: 100 });
    const err = await acq.ended;
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect((err as DeviceTimeoutError).context.resource).toBe(sim.resource);
    expect(acq.stats().running).toBe(false);
    expect(acq.stats().error).toBeInstanceOf(DeviceTimeoutError);
    await inst.close();
  });

  test("stop() ends a paced loop and frees the ring for another producer", async () => {
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 1 << 14, dtype: "float32" });
    const { wake, next } = nextWake();
    const first = next();
    const acq = inst.startAcquisition({ command: "FETC?", format: "float32", ring, intervalMs: 5, onSamples: wake });
    await first;
    expect(() => inst.startAcquisition({ command: "FETC?", format: "float32", ring })).toThrow(/producer/);
    await acq.stop();
    expect(await acq.ended).toBeNull();
    const n = acq.stats().exchanges;
    expect(n).toBeGreaterThan(0);
    expect(ring.available).toBe(n * 256);
    const again = inst.startAcquisition({ command: "FETC?", format: "float32", ring, maxExchanges: 1 });
    expect(await again.ended).toBeNull();
    await inst.close();
  });

  test("a stopped acquisition leaves no thread behind while it waits for GC", async () => {
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 1 << 14, dtype: "float32" });
    const threads = () => readdirSync("/proc/self/task").length;
    const before = threads();
    for (let i = 0; i < 20; i++) {
      const acq = inst.startAcquisition({ command: "FETC?", format: "float32", ring, maxExchanges: 1 });
      expect(await acq.ended).toBeNull();
      ring.drain();
    }
    for (let i = 0; i < 1000 && threads() > before + 2; i++) await Bun.sleep(10); // up to 10 s on a loaded machine
    expect(threads()).toBeLessThanOrEqual(before + 2);
    await inst.close();
  });
});

describe("acquisition limits", () => {
  test("an answer beyond the instrument's maxReadBytes ends the loop at once, before its data is read; the instrument stays usable", async () => {
    // CURV? announces a 200 MB block (only 1 kB follows); READ? sends 4 kB without a terminator.
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, chunk) {
          for (const line of chunk.toString().split("\n").filter(Boolean)) {
            if (line === "CURV?") socket.write(Buffer.concat([Buffer.from("#9200000000"), Buffer.alloc(1024)]));
            else if (line === "READ?") socket.write("1,".repeat(2048));
            else socket.write("ALIVE\n");
          }
        },
      },
    });
    const inst = await rm.open(`TCPIP::127.0.0.1::${server.port}::SOCKET`, { timeoutMs: 20_000, maxReadBytes: 1024 });
    const ring = new SampleRing({ capacity: 1024, dtype: "int16" });
    const cases: [string, WireFormat, RegExp][] = [
      ["CURV?", "int16", /block of 200000000 bytes exceeds the limit/],
      ["READ?", "ascii", /no read termination within 1024 bytes/],
    ];
    for (const [command, format, message] of cases) {
      const t0 = performance.now();
      const acq = inst.startAcquisition({ command, format, ring });
      const err = await acq.ended;
      expect(err).toBeInstanceOf(DeviceOperationError);
      expect(err!.message).toMatch(message);
      expect(performance.now() - t0).toBeLessThan(10_000); // not the 20 s timeout of a read that went on
      expect(acq.stats()).toMatchObject({ running: false, exchanges: 0, samples: 0 });
      expect(await inst.query("ALIVE?")).toBe("ALIVE");
    }
    await inst.close();
    server.stop(true);
  });

  test("an interval or timeout that is not finite, negative or beyond 24 h is refused by startAcquisition, naming the value", async () => {
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 1024, dtype: "float32" });
    for (const bad of [Infinity, NaN, -5, 1e13]) {
      expect(() => inst.startAcquisition({ command: "READ?", ring, intervalMs: bad })).toThrow(
        `intervalMs must be a finite number of milliseconds from 0 up to 86400000 (24 h), got ${bad}`,
      );
      expect(() => inst.startAcquisition({ command: "READ?", ring, timeoutMs: bad })).toThrow(RangeError);
    }
    expect(() => inst.startAcquisition({ command: "READ?", ring, maxExchanges: -1 })).toThrow(RangeError);
    // The longest interval paces: one exchange, then none while other requests come and go.
    const { wake, next } = nextWake();
    const first = next();
    const acq = inst.startAcquisition({ command: "READ?", ring, intervalMs: 86_400_000, onSamples: wake });
    await first;
    for (let i = 0; i < 5; i++) expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    expect(acq.stats().exchanges).toBe(1);
    await acq.stop();
    expect(await acq.ended).toBeNull();
    await inst.close();
  });
});

describe("acquisition and close", () => {
  test("closing the instrument ends its acquisition with a DeviceConnectionError", async () => {
    const sim2 = new SocketSimServer(new SimulatedInstrument(dmm));
    const rm2 = new ResourceManager();
    const inst = await rm2.open(sim2.resource);
    const ring = new SampleRing({ capacity: 1 << 16, dtype: "float32", overflow: "overwrite-oldest" });
    const acq = inst.startAcquisition({ command: "FETC?", format: "float32", ring, intervalMs: 1 });
    await inst.close();
    const err = await acq.ended;
    expect(err?.name).toBe("DeviceConnectionError");
    expect(acq.stats().running).toBe(false);
    sim2.close();
  });
});
