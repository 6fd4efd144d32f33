// SimDaq's bounds: a rate the JS thread could never keep up with is refused up front, a very slow one
// is still paced, and a consumer that falls behind never keeps the event loop from timers and I/O.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { SimDaq } from "../../drivers/sim/daq.ts";
import { DeviceConfigurationError } from "../../src/core/errors.ts";
import { SampleRing } from "../../src/io/sampleRing.ts";
import { SyntheticSource } from "../../drivers/sim/syntheticSource.ts";

function configError(params: ConstructorParameters<typeof SimDaq>[1]): string {
  try {
    new SimDaq("daq", params);
  } catch (e) {
    expect(e).toBeInstanceOf(DeviceConfigurationError);
    return (e as Error).message;
  }
  throw new Error("accepted");
}

test("more than 10000 batches per second is refused, naming the batchSize that would do", () => {
  expect(configError({ sampleRate: 1e8, batchSize: 10 })).toBe(
    "SimDaq 'daq': sampleRate / batchSize must be at most 10000 batches per second, got 100000000 / 10; raise batchSize to at least 10000",
  );
  expect(() => new SimDaq("daq", { sampleRate: 1e8, batchSize: 10_000 })).not.toThrow();
});

test("sampleRate outside 1–1e8, a ring over 2^26 samples and NaN are refused before the ring is allocated", () => {
  expect(configError({ sampleRate: 1e12, batchSize: 1e8 })).toStartWith("SimDaq 'daq': params.sampleRate: ");
  expect(configError({ sampleRate: 1e-9 })).toStartWith("SimDaq 'daq': params.sampleRate: ");
  const rss = process.memoryUsage().rss;
  expect(configError({ ringCapacity: 2 ** 27 })).toStartWith("SimDaq 'daq': params.ringCapacity: ");
  expect(configError({ ringCapacity: 2 ** 26, frequency: Number.NaN })).toStartWith("SimDaq 'daq': params.frequency: ");
  expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
});

test("a native source at 1e-9 samples/s is paced: one batch, then a wait, not an unpaced flood", async () => {
  const ring = new SampleRing({ capacity: 1024, dtype: "float64", overflow: "overwrite-oldest" });
  const source = new SyntheticSource(ring, { sampleRate: 1e-9, batchSize: 1 });
  let wakes = 0;
  const firstWake = new Promise<void>((resolve) => source.start(() => (wakes++ === 0 ? resolve() : undefined)));
  try {
    await firstWake;
    // Let the loop run a while: an unpaced source makes millions of samples in this time.
    await new Promise((r) => setTimeout(r, 100));
    expect(source.stats().generated).toBe(1);
  } finally {
    source.stop();
  }
});

// In a child process: without slices the event loop starves and a timer-based test could not even time out.
// Counted in callbacks, not milliseconds: a loaded machine stretches every gap, but not how many batches
// the event loop delivers between two turns of its timers.
test("a consumer far slower than the stream still leaves the event loop to timers", async () => {
  const script = `
    import { SimDaq } from ${JSON.stringify(resolve(import.meta.dir, "../../drivers/sim/daq.ts"))};
    const daq = new SimDaq("daq", { sampleRate: 10_000_000, batchSize: 1000, ringCapacity: 1 << 20 });
    daq.connect();
    let batches = 0;
    daq.startStreaming(() => {
      batches++;
      const until = performance.now() + 1; // 1 ms a batch against 10000 batches/s: hopelessly behind
      while (performance.now() < until);
    });
    let worstRun = 0, last = 0, ticks = 0;
    const tick = () => {
      worstRun = Math.max(worstRun, batches - last);
      last = batches;
      if (++ticks < 20) return void setTimeout(tick, 10);
      daq.disconnect();
      console.log(JSON.stringify({ batches, worstRun, dropped: daq.getStreamStats().dropped }));
    };
    setTimeout(tick, 10);
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit", timeout: 60_000 });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const r = JSON.parse(out) as { batches: number; worstRun: number; dropped: number };
  expect(r.batches).toBeGreaterThan(100);
  // One slice is at most 64 callbacks and a timer turn comes between two slices (a due timer may wait
  // for a second one); without slices a wake-up drains the whole ring, 1000 batches, in one go.
  expect(r.worstRun).toBeLessThanOrEqual(128);
  expect(r.dropped).toBeGreaterThan(0);
}, 70_000);
