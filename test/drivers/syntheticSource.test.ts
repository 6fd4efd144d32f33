// The simulated ADC (drivers/sim/syntheticSource.ts): a native thread feeding a SampleRing with a sine
// plus noise, waking JS once per batch.
import { describe, expect, test } from "bun:test";
import { SyntheticSource } from "../../drivers/sim/syntheticSource.ts";
import { SampleRing } from "../../src/io/sampleRing.ts";

/** Resolves with the first value `arm` delivers; rejects after `ms` so a missing wake-up fails fast. */
function within<T>(ms: number, what: string, arm: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    arm((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

describe("SyntheticSource through a SampleRing", () => {
  test("wakes JS after a batch; the drained samples are the configured sine, contiguous across batches", async () => {
    const ring = new SampleRing({ capacity: 1 << 16 });
    const src = new SyntheticSource(ring, { sampleRate: 200_000, batchSize: 500, frequency: 1000, amplitude: 2 });
    const got: number[] = [];
    try {
      await within<void>(5000, "4 batches", (done) =>
        src.start(() => {
          got.push(...ring.drain());
          if (got.length >= 2000) done();
        }),
      );
    } finally {
      src.stop();
    }
    // 200 samples per period of 1 kHz at 200 kS/s
    for (let i = 0; i < 2000; i++) expect(got[i]).toBeCloseTo(2 * Math.sin((2 * Math.PI * i) / 200), 9);
    expect(src.stats().batches).toBeGreaterThanOrEqual(4);
  });

  test("wake-ups are coalesced: a JS thread kept busy through dozens of batches gets one wake-up, not one per batch", async () => {
    const ring = new SampleRing({ capacity: 1 << 17, dtype: "float32" });
    const src = new SyntheticSource(ring, { sampleRate: 1_000_000, batchSize: 1000 }); // 1 batch per ms
    let wakes = 0;
    let samples = 0;
    let onWake: () => void = () => {};
    src.start(() => {
      wakes++;
      samples += ring.drain().length;
      onWake();
    });
    try {
      await within(20_000, "the first wake-up", (r) => (onWake = () => r(undefined)));
      const wakesBefore = wakes;
      const batchesBefore = src.stats().batches;
      // Hold the JS thread while the native thread produces 40 batches (however long a loaded machine
      // takes; the deadline only guards against a source that stopped).
      const giveUp = performance.now() + 20_000;
      while (src.stats().batches - batchesBefore < 40 && performance.now() < giveUp);
      const batchesDuring = src.stats().batches - batchesBefore;
      const availableAfterBusy = ring.available;
      await within(20_000, "the wake-up after the busy spell", (r) => (onWake = () => r(undefined)));
      expect(batchesDuring).toBeGreaterThanOrEqual(40);
      expect(availableAfterBusy).toBeGreaterThanOrEqual(40 * 1000);
      // All that piled up came out in the one pending wake-up (its drain took it all); a second may
      // only race in for a batch that landed after that drain began.
      expect(wakes - wakesBefore).toBeLessThanOrEqual(2);
      expect(samples).toBeGreaterThanOrEqual(availableAfterBusy);
    } finally {
      src.stop();
    }
    samples += ring.drain().length;
    const c = ring.counters();
    expect(c.dropped).toBe(0);
    expect(samples).toBe(c.written);
    expect(c.highWater).toBeGreaterThanOrEqual(40 * 1000);
  });

  test("JS can poll instead of draining on the wake-up", async () => {
    const ring = new SampleRing({ capacity: 1 << 12, dtype: "int32" });
    const src = new SyntheticSource(ring, { sampleRate: 100_000, batchSize: 100, amplitude: 1000 });
    try {
      await within(20_000, "a batch", (r) => src.start(() => r(undefined)));
    } finally {
      src.stop();
    }
    const polled = ring.drain();
    expect(polled).toBeInstanceOf(Int32Array);
    expect(polled.length).toBeGreaterThanOrEqual(100);
    expect(polled.length % 100).toBe(0);
  });

  test("stop is idempotent, prompt on a slow source, and no wake-up runs after it", async () => {
    const ring = new SampleRing({ capacity: 1 << 10 });
    const src = new SyntheticSource(ring, { sampleRate: 10, batchSize: 100 }); // next batch due in 10 s
    let wakes = 0;
    await within(20_000, "the first batch", (r) =>
      src.start(() => {
        wakes++;
        r(undefined);
      }),
    );
    const t0 = performance.now();
    src.stop();
    expect(performance.now() - t0).toBeLessThan(5000); // before the batch due in 10 s
    src.stop();
    expect(src.running).toBe(false);
    const after = wakes;
    await new Promise((r) => setImmediate(r));
    expect(wakes).toBe(after);
    // and the ring is free for another producer
    expect(ring.push(new Float64Array([1]))).toBe(1);
  });

  test("stop() in the middle of a 16 M-sample batch returns before the batch is finished, with no wake-up", () => {
    const ring = new SampleRing({ capacity: 1 << 10, overflow: "overwrite-oldest" });
    const batchSize = 16_777_216; // the largest: generated and pushed 65,536 samples at a time
    const src = new SyntheticSource(ring, { sampleRate: 1e9, batchSize, noise: 1 });
    let wakes = 0;
    src.start(() => wakes++);
    // Inside the batch: its first slice is in the ring. The deadline only guards against a dead source.
    const giveUp = performance.now() + 20_000;
    while (src.stats().generated === 0 && performance.now() < giveUp);
    src.stop();
    const s = src.stats();
    expect(s.generated).toBeGreaterThan(0);
    // 255 slices were still to come; stop() joined the thread within one of them.
    expect(s.batches).toBe(0);
    expect(s.generated).toBeLessThan(batchSize);
    expect(ring.counters().written).toBe(s.generated);
    expect(wakes).toBe(0);
  });

  test("one producer per ring: JS push and a second source are refused while a source runs", () => {
    const ring = new SampleRing({ capacity: 1 << 10 });
    const a = new SyntheticSource(ring, { sampleRate: 1000 });
    const b = new SyntheticSource(ring, { sampleRate: 1000 });
    a.start(() => {});
    try {
      expect(() => ring.push(new Float64Array([1]))).toThrow(/native producer/);
      expect(() => b.start(() => {})).toThrow(/producer/);
      expect(() => a.start(() => {})).toThrow(/already running/);
    } finally {
      a.stop();
    }
    b.start(() => {});
    b.stop();
  });

  test("bad parameters are refused at the boundary", () => {
    const ring = new SampleRing({ capacity: 8 });
    expect(() => new SyntheticSource({ handle: {} } as never)).toThrow(TypeError);
    expect(() => new SyntheticSource(ring, { sampleRate: "fast" as never })).toThrow(TypeError);
    expect(() => new SyntheticSource(ring, { sampleRate: 0 })).toThrow(RangeError);
    expect(() => new SyntheticSource(ring, { batchSize: 1.5 })).toThrow(RangeError);
    expect(() => new SyntheticSource(ring, { noise: -1 })).toThrow(RangeError);
    const src = new SyntheticSource(ring);
    expect(() => src.start("cb" as never)).toThrow(TypeError);
  });

  test("a source keeps working when JS drops its ring object", async () => {
    let src: SyntheticSource;
    let drain!: () => number;
    {
      const ring = new SampleRing({ capacity: 1 << 12 });
      src = new SyntheticSource(ring, { sampleRate: 100_000, batchSize: 100 });
      drain = () => ring.drain().length; // only this closure keeps the JS ring alive
    }
    Bun.gc(true);
    let total = 0;
    try {
      await within(20_000, "samples", (r) =>
        src.start(() => {
          total += drain();
          if (total >= 1000) r(undefined);
        }),
      );
    } finally {
      src.stop();
    }
    expect(total).toBeGreaterThanOrEqual(1000);
  });

  test("dropping stopped sources and exiting with one running neither crashes nor hangs", async () => {
    const code = `
      const { SampleRing } = await import(${JSON.stringify(`${import.meta.dir}/../../src/io/sampleRing.ts`)});
      const { SyntheticSource } = await import(${JSON.stringify(`${import.meta.dir}/../../drivers/sim/syntheticSource.ts`)});
      for (let i = 0; i < 50; i++) {
        const ring = new SampleRing({ capacity: 1024 });
        const s = new SyntheticSource(ring, { sampleRate: 1e6, batchSize: 256 });
        s.start(() => ring.drain());
        s.stop();
        new SyntheticSource(ring);
      }
      Bun.gc(true);
      const ring = new SampleRing({ capacity: 1 << 16 });
      const s = new SyntheticSource(ring, { sampleRate: 1e6, batchSize: 256 });
      await new Promise((r) => s.start(() => { ring.drain(); r(); }));
      console.log("exiting while running");
      process.exit(0);
    `;
    const proc = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe", timeout: 15_000 });
    const [out, err, status] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect({ status, out: out.trim(), err }).toEqual({ status: 0, out: "exiting while running", err: "" });
  });
});
