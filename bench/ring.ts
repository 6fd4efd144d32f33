// SampleRing throughput and cost.
//  1. Two native threads moving float32 samples in batches: the lock-free ring vs two mutex-protected
//     queues with the same bound, measured in the same run (C++ driven from bun through the benchmark
//     addon's benchRingTransfer, off the JS thread): a std::deque fed the ring's own batches under one
//     lock per batch, and the textbook std::queue taking one sample per lock.
//  2. Synthetic source → ring → JS typed arrays, unpaced: how many samples/s JS can take.
//  3. CPU (process.cpuUsage, all threads) of a paced source at 1 MS/s and 10 MS/s, drained by JS.
// Usage: bun bench/ring.ts [--quick]
import { SyntheticSource } from "../drivers/sim/syntheticSource.ts";
import { SampleRing, type SampleDType } from "../src/io/sampleRing.ts";
import { benchAddon, type Transfer } from "./_benchAddon.ts";

const quick = process.argv.includes("--quick");
const M = 1e6;
const fmt = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const rate = (t: Transfer) => t.samples / t.seconds;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function transfer(
  batch: number,
  pin: boolean,
  reps: number,
): Promise<{ ring: number; mutex: number; perSample: number }> {
  const capacity = 16384;
  // Fewer samples for small batches and for the mutex queues, so every run lasts a fraction of a second.
  const ringSamples = (quick ? 0.1 : 1) * (batch < 256 ? 3e7 : 1e8);
  const runs = { ring: [] as number[], mutex: [] as number[], perSample: [] as number[] };
  for (let i = 0; i < reps; i++) {
    // Interleave the three so a burst of load from elsewhere on the machine hits all alike.
    const a = await benchAddon.benchRingTransfer("ring", { samples: ringSamples, batch, capacity, pin });
    const b = await benchAddon.benchRingTransfer("mutex", {
      samples: Math.round(ringSamples / 3),
      batch,
      capacity,
      pin,
    });
    const c = await benchAddon.benchRingTransfer("mutexPerSample", {
      samples: Math.round(ringSamples / 30),
      batch,
      capacity,
      pin,
    });
    if (!a.inOrder || !b.inOrder || !c.inOrder) throw new Error("a transfer lost or reordered samples");
    runs.ring.push(rate(a));
    runs.mutex.push(rate(b));
    runs.perSample.push(rate(c));
  }
  return { ring: median(runs.ring), mutex: median(runs.mutex), perSample: median(runs.perSample) };
}

// Warm-up: page in the code paths and let bun's start-up threads settle before measuring.
await benchAddon.benchRingTransfer("ring", { samples: 2e7, batch: 1024, capacity: 16384 });
await benchAddon.benchRingTransfer("mutex", { samples: 5e6, batch: 1024, capacity: 16384 });
await benchAddon.benchRingTransfer("mutexPerSample", { samples: 1e6, batch: 1024, capacity: 16384 });

const reps = quick ? 1 : 5;
console.log(
  `1. native producer → consumer, float32, capacity 16384, two threads (median of ${reps} runs each), M samples/s`,
);
console.log("   threads     batch     ring   mutex+deque, same batches   ratio   mutex+queue, 1 sample/lock   ratio");
for (const pin of [true, false]) {
  for (const batch of [16, 1024]) {
    const r = await transfer(batch, pin, reps);
    console.log(
      `   ${pin ? "pinned  " : "unpinned"}  ${String(batch).padStart(6)}  ${fmt(r.ring / M).padStart(7)}  ${fmt(r.mutex / M).padStart(26)}  ${fmt(r.ring / r.mutex, 1).padStart(5)}x` +
        `  ${fmt(r.perSample / M, 1).padStart(27)}  ${fmt(r.ring / r.perSample, 0).padStart(5)}x`,
    );
  }
}

/** Runs a source into a ring for `seconds`, JS draining on every wake-up; returns the figures. */
async function sourceToJs(opts: {
  dtype: SampleDType;
  sampleRate: number;
  batchSize: number;
  paced: boolean;
  seconds: number;
  into?: boolean;
}) {
  const ring = new SampleRing({ capacity: 1 << 22, dtype: opts.dtype });
  const src = new SyntheticSource(ring, {
    sampleRate: opts.sampleRate,
    batchSize: opts.batchSize,
    noise: 0.01,
    paced: opts.paced,
  });
  const scratch = new (opts.dtype === "float32" ? Float32Array : Float64Array)(1 << 22);
  let samples = 0;
  let wakes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  src.start(() => {
    wakes++;
    samples += opts.into ? ring.drainInto(scratch as never) : ring.drain().length;
  });
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  src.stop();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const c = ring.counters();
  return {
    samplesPerSec: samples / wall,
    wakesPerSec: wakes / wall,
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    dropped: c.dropped,
    lagResyncs: src.stats().lagResyncs,
  };
}

const secs = quick ? 0.5 : 2;
console.log("\n2. synthetic source → ring → JS, unpaced (JS drains on each coalesced wake-up)");
for (const [dtype, into] of [
  ["float64", false],
  ["float32", false],
  ["float32", true],
] as const) {
  const r = await sourceToJs({ dtype, sampleRate: 1e9, batchSize: 16384, paced: false, seconds: secs, into });
  console.log(
    `   ${dtype} ${into ? "drainInto (no allocation)" : "drain() → new typed array "}: ${fmt(r.samplesPerSec / M, 1)} M samples/s, ` +
      `${fmt(r.wakesPerSec)} wake-ups/s, CPU ${fmt(r.cpuPercent)}% of one core`,
  );
}

console.log("\n3. CPU of a paced source drained by JS (process.cpuUsage, producer + JS thread)");
const idleCpu0 = process.cpuUsage();
const idleT0 = performance.now();
await new Promise((r) => setTimeout(r, secs * 500));
const idle = process.cpuUsage(idleCpu0);
const idlePct = ((idle.user + idle.system) / 1e3 / (performance.now() - idleT0)) * 100;
console.log(`   baseline: idle bun process ${fmt(idlePct, 2)}% of one core`);
for (const [sampleRate, batchSize] of [
  [1e6, 1000],
  [1e7, 1000],
  [1e7, 10000],
] as const) {
  const r = await sourceToJs({ dtype: "float64", sampleRate, batchSize, paced: true, seconds: secs });
  console.log(
    `   ${fmt(sampleRate / M)} MS/s, batch ${String(batchSize).padStart(5)}: delivered ${fmt(r.samplesPerSec / M, 2)} MS/s, ` +
      `${fmt(r.wakesPerSec)} wake-ups/s, CPU ${fmt(r.cpuPercent, 1)}% of one core, dropped ${r.dropped}` +
      (r.lagResyncs ? `, fell behind ${r.lagResyncs}x` : ""),
  );
}
