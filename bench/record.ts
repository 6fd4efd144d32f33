// Recording the simulated DAQ at 10 MS/s float32 to HDF5 through the server: zero samples lost (sequence
// continuous, counters zero) and h5py reads back exactly the expected count; the writer thread's CPU and
// the event loop's worst stall while recording; POST /call latency p99 from another process while
// recording, against the same server idle (the baseline, same run).
// Usage: bun bench/record.ts [seconds, default 30] [--rate N samples/s, default 10000000]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabDaemon } from "../src/index.ts";
import { DataStore } from "../src/data/dataStore.ts";
import { LabDaemonServer } from "../src/server/index.ts";
import { SimDaq } from "../drivers/index.ts";

// ---------------------------------------------------------------- client process: sequential /call

if (process.argv[2] === "--client") {
  const [url, ms] = [process.argv[3]!, Number(process.argv[4])];
  const lat: number[] = [];
  const end = performance.now() + ms;
  const body = JSON.stringify({ method: "ping", args: [] });
  while (performance.now() < end) {
    const t = performance.now();
    const r = await fetch(`${url}/devices/echo/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`call answered ${r.status}`);
    lat.push(performance.now() - t);
  }
  await Bun.write(Bun.stdout, JSON.stringify(lat));
  process.exit(0);
}

// ---------------------------------------------------------------- server process

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 30);
const rateAt = args.indexOf("--rate");
const rate = rateAt >= 0 ? Number(args[rateAt + 1]) : 10_000_000;
const batch = Math.max(1000, Math.ceil(rate / 1000));

class Echo {
  ping() {
    return 1;
  }
}

const dir = mkdtempSync(join(tmpdir(), "ld-bench-record-"));
const daemon = new LabDaemon();
daemon.registerPlugins({ devices: { SimDaq, Echo } });
// A ring of 2^24 samples (1.7 s at 10 MS/s, 64 MiB): what a high-rate card would be given, so a busy
// machine's scheduling pauses do not overflow it.
daemon.addDevice("daq1", "SimDaq", { sampleRate: rate, batchSize: batch, dtype: "float32", ringCapacity: 1 << 24 });
daemon.addDevice("echo", "Echo");
await daemon.connectDevice("daq1");
await daemon.connectDevice("echo");
const data = await DataStore.open(daemon, { dir });
const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent", data });
await server.start();

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function callLatencies(ms: number): Promise<number[]> {
  const p = Bun.spawn([process.execPath, import.meta.path, "--client", server.url, String(ms)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error("the call client failed");
  return JSON.parse(out);
}

/** The event loop's lateness, sampled every 5 ms: the worst stall while it runs. */
function stallMonitor() {
  let worst = 0;
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  return { stop: () => (clearInterval(t), worst) };
}

/** CPU seconds per thread of this process (Linux /proc), by thread id and name. */
function threadCpu(): Map<string, { name: string; s: number }> {
  const out = new Map<string, { name: string; s: number }>();
  const hz = 100;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      out.set(tid, { name, s: (Number(fields[11]) + Number(fields[12])) / hz });
    } catch {
      // the thread ended
    }
  }
  return out;
}

console.log(
  `recording SimDaq at ${(rate / 1e6).toFixed(1)} MS/s float32 (batches of ${batch}) for ${seconds} s into ${dir}`,
);

// Baseline: /call latency with the server idle (the DAQ not streaming).
const idle = await callLatencies(Math.min(5000, seconds * 1000));

// While recording.
const cpu0 = threadCpu();
const proc0 = process.cpuUsage();
const mon = stallMonitor();
const t0 = performance.now();
const rec = (await (
  await fetch(`${server.url}/devices/daq1/record`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ duration_s: seconds, name: "bench" }),
  })
).json()) as { run_id: string };
const busy = args.includes("--no-calls")
  ? (await Bun.sleep(seconds * 1000), [NaN])
  : await callLatencies(Math.max(1000, seconds * 1000 - 1500));
let run: any;
for (;;) {
  run = await (await fetch(`${server.url}/runs/${rec.run_id}`)).json();
  if (run.status !== "recording") break;
  await Bun.sleep(100);
}
const wall = (performance.now() - t0) / 1000;
const worstStall = mon.stop();
const proc1 = process.cpuUsage(proc0);
const cpu1 = threadCpu();
const perThread = [...cpu1]
  .map(([tid, v]) => ({ tid, name: v.name, s: v.s - (cpu0.get(tid)?.s ?? 0) }))
  .filter((t) => t.s > 0.05)
  .sort((a, b) => b.s - a.s);

// Read back with Debian's h5py.
const file = data.catalogue.run(rec.run_id)!.file;
const py = Bun.spawnSync(
  [
    "/usr/bin/python3",
    "-c",
    `
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
seq = f["batch_sequence"][()]
print(json.dumps({"samples": int(f["samples"].shape[0]), "dtype": str(f["samples"].dtype), "batches": int(seq.shape[0]),
  "continuous": bool(((seq[1:] - seq[:-1]) == 1).all()), "attrs": {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}}))
`,
    file,
  ],
  { stdout: "pipe", stderr: "pipe" },
);
if (py.exitCode !== 0) throw new Error(py.stderr.toString());
const h = JSON.parse(py.stdout.toString());
const a = h.attrs;

const expected = a.sample_count;
const idleP50 = percentile(idle, 50),
  idleP99 = percentile(idle, 99);
const busyP50 = percentile(busy, 50),
  busyP99 = percentile(busy, 99);
const recorded = h.samples;
console.log(`run ${rec.run_id}: ${run.status}${run.error ? ` (${run.error})` : ""}`);
console.log(
  `samples: h5py read ${recorded.toLocaleString()} ${h.dtype} in ${h.batches} batches; the recorder counted ${expected.toLocaleString()}: ${recorded === expected ? "exact" : "MISMATCH"}; the DAQ generated ${Number(a.device_generated).toLocaleString()} meanwhile`,
);
console.log(
  `  ${(recorded / wall / 1e6).toFixed(2)} MS/s over ${wall.toFixed(1)} s (${((recorded * 4) / 2 ** 20).toFixed(0)} MiB); sequence continuous: ${h.continuous}; sequence_gaps ${a.sequence_gaps}, missing_batches ${a.missing_batches}, device_dropped (the DAQ's ring, during the recording) ${a.device_dropped}, complete ${a.complete}`,
);
console.log(
  `process CPU while recording: ${((proc1.user + proc1.system) / 1e6).toFixed(1)} s over ${wall.toFixed(1)} s wall (${(((proc1.user + proc1.system) / 1e6 / wall) * 100).toFixed(0)} % of one core)`,
);
console.log(
  `  by thread: ${perThread
    .slice(0, 6)
    .map((t) => `${t.name}[${t.tid}] ${((t.s / wall) * 100).toFixed(0)} %`)
    .join(", ")}`,
);
console.log(
  `event loop worst stall while recording: ${worstStall.toFixed(1)} ms; machine load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} on ${navigator.hardwareConcurrency} cores`,
);
console.log(
  `POST /call latency (another process, sequential): idle p50 ${idleP50.toFixed(3)} ms p99 ${idleP99.toFixed(3)} ms (${idle.length} calls); recording p50 ${busyP50.toFixed(3)} ms p99 ${busyP99.toFixed(3)} ms (${busy.length} calls): p99 ratio ${(busyP99 / idleP99).toFixed(2)}× (goal ≤ 2×)`,
);

await server.stop();
await daemon.shutdown();
await data.close();
rmSync(dir, { recursive: true, force: true });
const ok =
  recorded === expected &&
  h.continuous &&
  a.sequence_gaps === 0 &&
  a.device_dropped === 0 &&
  run.status === "completed";
process.exit(ok ? 0 : 1);
