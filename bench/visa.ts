// Instrument I/O speed: our query() (event loop) against a blocking C client on the same simulator, in
// the same run, with pyvisa-py and the native session-thread path beside it; 8 instruments in parallel;
// binary blocks; native acquisition. A bare Bun.connect loop (bench/_bareClient.ts: write, frame in the data
// callback, resolve) runs in the same rounds as the floor an event-loop client can reach. The last line is the summary of the three goal ratios.
// The simulator is a small C epoll server (bench/_visa_sim.c) so the clients are what is measured.
// Usage: bun bench/visa.ts [--quick]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { blockArray, ResourceManager, SampleRing } from "../src/io/index.ts";
import { pythonWithPyvisa, pyvisaClient } from "../test/support/pyvisa.ts";
import { Bare } from "./_bareClient.ts";

const quick = process.argv.includes("--quick");
const N = quick ? 3000 : 20000;
const ROUNDS = 3;
const dir = mkdtempSync(`${tmpdir()}/ld-bench-visa-`);
const cc = Bun.which("cc") ?? Bun.which("gcc");
if (!cc) {
  console.log("skipped: no C compiler for the baseline client and simulator");
  process.exit(0);
}
for (const name of ["_visa_sim", "_visa_client"]) {
  const r = Bun.spawnSync([cc, "-O2", "-pthread", "-o", `${dir}/${name}`, `${import.meta.dir}/${name}.c`]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
}

const sim = Bun.spawn([`${dir}/_visa_sim`, "8"], { stdout: "pipe", stderr: "inherit" });
const ports = await readPorts(sim.stdout);
const resources = ports.map((p) => `TCPIP0::127.0.0.1::${p}::SOCKET`);
const rm = new ResourceManager({ netIo: "event-loop" });
const summary: string[] = [];

try {
  // --- 1. one instrument, *IDN? round trips; every client measured in each round, medians reported.
  // "ours" is the event-loop transport (the default); "native" the session-thread path it replaced
  // (LABDAEMON_NET_IO=native), measured beside it for the before/after figures.
  const inst = await rm.open(resources[0]!);
  const nativeRm = new ResourceManager({ netIo: "native" });
  const nat = await nativeRm.open(resources[2]!);
  const bare = new Bare();
  await bare.connect(ports[3]!);
  const hopSession = nat.leaseNativeSession();
  const session = hopSession.session as unknown as { ping(): Promise<void> };
  const ours: number[] = [],
    natives: number[] = [],
    cBlock: number[] = [],
    cSpin: number[] = [],
    pyvisa: number[] = [],
    hop: number[] = [],
    bares: number[] = [];
  const cpuOurs: Cpu[] = [],
    cpuNative: Cpu[] = [],
    cpuBare: Cpu[] = [];
  const py = pythonWithPyvisa();
  // JIT warm-up before the rounds: JSC compiles a query path over its first 15,000–20,000 calls, on a
  // thread of its own that competes with the simulator on a 2-core machine (bench/README.md). Untimed.
  for (const op of [() => inst.query("*IDN?"), () => nat.query("*IDN?"), () => bare.query("*IDN?\n")])
    for (let i = 0; i < N; i++) await op();
  for (let r = 0; r < ROUNDS; r++) {
    cBlock.push((await cClient("*IDN?", "text", N, [ports[0]!])).perOpUs);
    cSpin.push((await cClient("*IDN?", "text+spin", N, [ports[0]!])).perOpUs);
    const o = await measured(() => inst.query("*IDN?"), N);
    ours.push(o.us);
    cpuOurs.push(o.cpu);
    const n = await measured(() => nat.query("*IDN?"), N);
    natives.push(n.us);
    cpuNative.push(n.cpu);
    hop.push((await measured(() => session.ping(), N)).us);
    const b = await measured(() => bare.query("*IDN?\n"), N);
    bares.push(b.us);
    cpuBare.push(b.cpu);
    if (py) {
      const p = Bun.spawn([py, pyvisaClient, "bench", resources[1]!, String(Math.min(N, 3000))], { stdout: "pipe" });
      pyvisa.push((JSON.parse(await new Response(p.stdout).text()) as { perQueryUs: number }).perQueryUs);
    }
  }
  hopSession.release();
  const usOurs = median(ours),
    usBlock = median(cBlock),
    usSpin = median(cSpin),
    usNative = median(natives),
    usBare = median(bares);
  console.log(`query round trip (loopback, *IDN?, median of ${ROUNDS} rounds × ${N}):`);
  console.log(`  C client: ${usBlock.toFixed(1)} µs blocking in recv, ${usSpin.toFixed(1)} µs busy-polling`);
  console.log(
    `  ours (event loop): ${usOurs.toFixed(1)} µs/query = ${(usOurs / usBlock).toFixed(2)}× the blocking C client (goal ≤ 1.15), ` +
      `${(usOurs / usSpin).toFixed(2)}× the busy-polling one; per round: ${ours.map((u, i) => (u / cBlock[i]!).toFixed(2)).join(", ")}`,
  );
  console.log(
    `  native session thread (before): ${usNative.toFixed(1)} µs/query = ${(usNative / usBlock).toFixed(2)}× the blocking C client; ` +
      `JS→session thread→JS with no I/O: ${median(hop).toFixed(1)} µs`,
  );
  console.log(
    `  bare Bun.connect loop (reference, no deadline/ordering/recovery): ${usBare.toFixed(1)} µs/query = ${(usBare / usBlock).toFixed(2)}× the blocking C client; ` +
      `per round: ${bares.map((u, i) => (u / cBlock[i]!).toFixed(2)).join(", ")}; ours / bare ${(usOurs / usBare).toFixed(2)}`,
  );
  console.log(
    `  CPU per query, JS thread / whole process: ours ${cpuText(cpuOurs)}; native ${cpuText(cpuNative)}; bare ${cpuText(cpuBare)}`,
  );
  console.log(
    py
      ? `  pyvisa-py: ${median(pyvisa).toFixed(1)} µs/query; ours / pyvisa-py per round: ${ours.map((u, i) => (u / pyvisa[i]!).toFixed(2)).join(", ")} (goal < 1 in every round)`
      : "  pyvisa-py: skipped (no python3 with pyvisa + pyvisa_py)",
  );

  // --- 2. 8 instruments in parallel from one process (one bun thread) against the C client's 8 threads
  const insts = await Promise.all(resources.map((r) => rm.open(r)));
  const perInst = Math.floor(N / 2);
  const rates: number[] = [],
    c8s: number[] = [];
  let jsNsPerQuery = 0,
    procNsPerQuery = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const js0 = jsThreadNs(),
      proc0 = processNs();
    const t0 = performance.now();
    await Promise.all(
      insts.map(async (i) => {
        for (let k = 0; k < perInst; k++) await i.query("*IDN?");
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    jsNsPerQuery = (jsThreadNs() - js0) / (perInst * 8);
    procNsPerQuery = (processNs() - proc0) / (perInst * 8);
    rates.push((perInst * 8) / secs);
    c8s.push((await cClient("*IDN?", "text", perInst, ports)).opsPerSec);
  }
  const rate = median(rates),
    c8 = median(c8s);
  const parallel = median(rates.map((x, i) => x / c8s[i]!));
  console.log(`8 instruments in parallel (${perInst} queries each, ${ROUNDS} rounds):`);
  console.log(
    `  ours: ${fmt(rate)} queries/s; C client's 8 threads ${fmt(c8)}/s; ours / C per round: ` +
      `${rates.map((x, i) => (x / c8s[i]!).toFixed(2)).join(", ")} (goal ≥ 0.8)`,
  );
  console.log(
    `  CPU per query (last round): JS thread ${(jsNsPerQuery / 1000).toFixed(1)} µs, whole process ${(procNsPerQuery / 1000).toFixed(1)} µs (${os()} cores)`,
  );
  await Promise.all(insts.map((i) => i.close()));
  summary.push(`query/c-blocking ${(usOurs / usBlock).toFixed(2)}`);
  summary.push(`query/pyvisa-py ${py ? (usOurs / median(pyvisa)).toFixed(2) : "n/a"}`);
  summary.push(`parallel8/c8 ${parallel.toFixed(2)}`);

  // --- 3. binary blocks
  for (const [q, bytes, n] of [
    ["CURV:4K?", 4096, quick ? 1000 : 5000],
    ["CURV:1M?", 1 << 20, quick ? 30 : 150],
  ] as const) {
    const oursUs: number[] = [],
      intoUs: number[] = [],
      plainUs: number[] = [],
      cUs: number[] = [],
      bareUs: number[] = [],
      natUs: number[] = [];
    // One array reused from block to block, as the C client reuses its buffer: a blockArray (the worker
    // writes it directly), and a plain Float32Array (filled through the worker's scratch buffer).
    const into = blockArray(bytes / 4);
    const plain = new Float32Array(bytes / 4);
    for (let r = 0; r < ROUNDS; r++) {
      cUs.push((await cClient(q, "block", n, [ports[0]!])).perOpUs);
      oursUs.push((await measured(() => inst.queryBinaryBlock(q), n)).us);
      intoUs.push((await measured(() => inst.queryBinaryBlock(q, { into }), n)).us);
      plainUs.push((await measured(() => inst.queryBinaryBlock(q, { into: plain }), n)).us);
      bareUs.push((await measured(() => bare.block(`${q}\n`), n)).us);
      natUs.push((await measured(() => nat.queryBinaryBlock(q), n)).us);
    }
    const o = median(oursUs),
      c = median(cUs);
    const vsC = (xs: number[]) =>
      `${(median(xs) / c).toFixed(2)}× (per round ${xs.map((u, i) => (u / cUs[i]!).toFixed(2)).join(", ")})`;
    const label = bytes >= 1 << 20 ? "1 MB" : "4 kB";
    console.log(
      `float32 block ${label} (queryBinaryBlock → Float32Array): ours ${fmt(1e6 / o)} blocks/s, ${(bytes / o).toFixed(0)} MB/s; ` +
        `C client ${fmt(1e6 / c)} blocks/s, ${(bytes / c).toFixed(0)} MB/s; ours = ${(o / c).toFixed(2)}× the C time ` +
        `(goal ≤ ${bytes >= 1 << 20 ? "1.3" : "1.5"}; per round ${oursUs.map((u, i) => (u / cUs[i]!).toFixed(2)).join(", ")})`,
    );
    console.log(
      `  same rounds, × the C time: ours reading into one reused blockArray (into) ${vsC(intoUs)}, into a reused plain Float32Array ${vsC(plainUs)}; bare Bun.connect loop ${vsC(bareUs)}; native session thread ${vsC(natUs)}`,
    );
  }

  // --- 4. native acquisition: FETC? (4096 float32 per block) back to back into a ring
  const ring = new SampleRing({ capacity: 1 << 20, dtype: "float32" });
  let drained = 0;
  const scratch = new Float32Array(1 << 20);
  const acqJs0 = jsThreadNs();
  const a0 = performance.now();
  const acq = inst.startAcquisition({
    command: "FETC?",
    format: "float32",
    ring,
    maxExchanges: quick ? 2000 : 10000,
    onSamples: () => {
      drained += ring.drainInto(scratch);
    },
  });
  await acq.ended;
  drained += ring.drainInto(scratch);
  const aSecs = (performance.now() - a0) / 1000;
  const acqJs = jsThreadNs() - acqJs0;
  const st = acq.stats();
  console.log(
    `native acquisition (FETC?, 4096 float32 per block): ${fmt(st.exchanges / aSecs)} blocks/s, ${fmt(st.samples / aSecs)} samples/s, ` +
      `${drained === st.samples ? "all" : `${drained} of ${st.samples}`} samples drained; JS-thread CPU ${(acqJs / st.samples).toFixed(2)} ns/sample ` +
      `(${(acqJs / st.exchanges / 1000).toFixed(1)} µs/block, mostly the drain copy)`,
  );
  bare.socket.end();
  await nat.close();
  await nativeRm.close();
  await inst.close();
} finally {
  await rm.close();
  sim.kill();
  await sim.exited;
  rmSync(dir, { recursive: true, force: true });
}
console.log(`summary: ${summary.join(" ")}`);

interface Cpu {
  js: number;
  proc: number;
}

/** µs per call, and CPU ns per call of the JS thread and of the whole process. */
async function measured(op: () => Promise<unknown>, n: number): Promise<{ us: number; cpu: Cpu }> {
  for (let i = 0; i < Math.min(500, n); i++) await op();
  const js0 = jsThreadNs(),
    proc0 = processNs();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  const us = ((performance.now() - t0) * 1000) / n;
  return { us, cpu: { js: (jsThreadNs() - js0) / n, proc: (processNs() - proc0) / n } };
}

function cpuText(xs: Cpu[]): string {
  return `${(median(xs.map((c) => c.js)) / 1000).toFixed(1)} / ${(median(xs.map((c) => c.proc)) / 1000).toFixed(1)} µs`;
}

// CPU time of every thread of this process.
function processNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function cClient(
  query: string,
  kind: string,
  n: number,
  ps: number[],
): Promise<{ perOpUs: number; opsPerSec: number }> {
  const p = Bun.spawn([`${dir}/_visa_client`, query, kind, String(n), ...ps.map(String)], { stdout: "pipe" });
  const [ops, secs] = (await new Response(p.stdout).text()).trim().split(" ").map(Number);
  return { perOpUs: (secs! * 1e6) / (ops! / ps.length), opsPerSec: ops! / secs! };
}

async function readPorts(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bench simulator ended early");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text
    .split("\n")
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

// CPU time of the JS thread alone (the main thread's task), from the scheduler's own accounting.
function jsThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0);
}

function os(): number {
  return navigator.hardwareConcurrency;
}
