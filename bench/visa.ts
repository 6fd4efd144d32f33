// Instrument I/O speed: our query() against the least a C client can do on the same simulator, in
// the same run, with pyvisa-py beside it; 8 instruments in parallel; binary blocks; native acquisition.
// The simulator is a small C epoll server (bench/_visa_sim.c) so the clients are what is measured.
// Usage: bun bench/visa.ts [--quick]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager, SampleRing } from "../src/io/index.ts";
import { pythonWithPyvisa, pyvisaClient } from "../test/support/pyvisa.ts";

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
const rm = new ResourceManager();

try {
  // --- 1. one instrument, *IDN? round trips; every client measured in each round, medians reported
  const inst = await rm.open(resources[0]!);
  const session = inst.leaseNativeSession().session as unknown as { ping(): Promise<void> };
  const ours: number[] = [], cBlock: number[] = [], cSpin: number[] = [], pyvisa: number[] = [], hop: number[] = [];
  const py = pythonWithPyvisa();
  for (let r = 0; r < ROUNDS; r++) {
    cBlock.push((await cClient("*IDN?", "text", N, [ports[0]!])).perOpUs);
    cSpin.push((await cClient("*IDN?", "text+spin", N, [ports[0]!])).perOpUs);
    ours.push(await oursSequential(() => inst.query("*IDN?"), N));
    hop.push(await oursSequential(() => session.ping(), N));
    if (py) {
      const p = Bun.spawn([py, pyvisaClient, "bench", resources[1]!, String(Math.min(N, 3000))], { stdout: "pipe" });
      pyvisa.push((JSON.parse(await new Response(p.stdout).text()) as { perQueryUs: number }).perQueryUs);
    }
  }
  const usOurs = median(ours), usBlock = median(cBlock), usSpin = median(cSpin);
  const usC = Math.min(usBlock, usSpin);
  console.log(`query round trip (loopback, *IDN?, median of ${ROUNDS} rounds × ${N}):`);
  console.log(`  C client: ${usBlock.toFixed(1)} µs blocking in recv, ${usSpin.toFixed(1)} µs busy-polling; limit = ${usC.toFixed(1)} µs`);
  console.log(`  ours: ${usOurs.toFixed(1)} µs/query = ${(usOurs / usC).toFixed(2)}× the limit (goal ≤ 1.15), ` +
    `${(usOurs / usBlock).toFixed(2)}× the blocking C client; JS→session thread→JS with no I/O: ${median(hop).toFixed(1)} µs`);
  console.log(py ? `  pyvisa-py: ${median(pyvisa).toFixed(1)} µs/query = ${(median(pyvisa) / usC).toFixed(2)}× the limit`
    : "  pyvisa-py: skipped (no python3 with pyvisa + pyvisa_py)");

  // --- 2. 8 instruments in parallel from one process
  const insts = await Promise.all(resources.map((r) => rm.open(r)));
  const perInst = Math.floor(N / 2);
  const singleRate = 1e6 / usOurs;
  const js0 = jsThreadNs();
  const t0 = performance.now();
  await Promise.all(insts.map(async (i) => {
    for (let k = 0; k < perInst; k++) await i.query("*IDN?");
  }));
  const secs = (performance.now() - t0) / 1000;
  const jsNsPerQuery = (jsThreadNs() - js0) / (perInst * 8);
  const rate = (perInst * 8) / secs;
  const c8 = await cClient("*IDN?", "text", perInst, ports);
  console.log(`8 instruments in parallel (${perInst} queries each):`);
  console.log(`  ours: ${fmt(rate)} queries/s = ${(rate / (8 * singleRate)).toFixed(2)} of 8× our single-instrument rate (goal ≥ 0.8), ` +
    `${(rate / c8.opsPerSec).toFixed(2)}× the C client's 8 threads (${fmt(c8.opsPerSec)}/s)`);
  console.log(`  JS-thread CPU: ${(jsNsPerQuery / 1000).toFixed(1)} µs per query (${os()} cores)`);
  await Promise.all(insts.map((i) => i.close()));

  // --- 3. binary blocks
  for (const [q, bytes, n] of [["CURV:4K?", 4096, quick ? 1000 : 5000], ["CURV:1M?", 1 << 20, quick ? 30 : 150]] as const) {
    const oursUs: number[] = [], cUs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const blocking = (await cClient(q, "block", n, [ports[0]!])).perOpUs;
      const spinning = (await cClient(q, "block+spin", n, [ports[0]!])).perOpUs;
      cUs.push(Math.min(blocking, spinning));
      oursUs.push(await oursSequential(() => inst.queryBinaryBlock(q), n));
    }
    const o = median(oursUs), c = median(cUs);
    const label = bytes >= 1 << 20 ? "1 MB" : "4 kB";
    console.log(`float32 block ${label} (queryBinaryBlock → Float32Array): ours ${fmt(1e6 / o)} blocks/s, ${(bytes / o).toFixed(0)} MB/s; ` +
      `C limit ${fmt(1e6 / c)} blocks/s, ${(bytes / c).toFixed(0)} MB/s; ours = ${(o / c).toFixed(2)}× the C time`);
  }

  // --- 4. native acquisition: FETC? (4096 float32 per block) back to back into a ring
  const ring = new SampleRing({ capacity: 1 << 20, dtype: "float32" });
  let drained = 0;
  const scratch = new Float32Array(1 << 20);
  const acqJs0 = jsThreadNs();
  const a0 = performance.now();
  const acq = inst.startAcquisition({
    command: "FETC?", format: "float32", ring, maxExchanges: quick ? 2000 : 10000,
    onSamples: () => {
      drained += ring.drainInto(scratch);
    },
  });
  await acq.ended;
  drained += ring.drainInto(scratch);
  const aSecs = (performance.now() - a0) / 1000;
  const acqJs = jsThreadNs() - acqJs0;
  const st = acq.stats();
  console.log(`native acquisition (FETC?, 4096 float32 per block): ${fmt(st.exchanges / aSecs)} blocks/s, ${fmt(st.samples / aSecs)} samples/s, ` +
    `${drained === st.samples ? "all" : `${drained} of ${st.samples}`} samples drained; JS-thread CPU ${(acqJs / st.samples).toFixed(2)} ns/sample ` +
    `(${(acqJs / st.exchanges / 1000).toFixed(1)} µs/block, mostly the drain copy)`);
  await inst.close();
} finally {
  await rm.close();
  sim.kill();
  await sim.exited;
  rmSync(dir, { recursive: true, force: true });
}

async function oursSequential(op: () => Promise<unknown>, n: number): Promise<number> {
  for (let i = 0; i < Math.min(500, n); i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - t0) * 1000) / n;
}

async function cClient(query: string, kind: string, n: number, ps: number[]): Promise<{ perOpUs: number; opsPerSec: number }> {
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
  return text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
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
