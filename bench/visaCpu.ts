// CPU per query of the event-loop SOCKET path against the least an event-loop client can do: a bare
// Bun.connect loop (write, frame in the data callback, resolve) on the same simulator, same process,
// rounds alternating. CPU time, not wall time, so a busy machine still gives usable figures.
// Usage: bun bench/visaCpu.ts [rounds] [queries per round]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager } from "../src/io/index.ts";
import { Bare } from "./_bareClient.ts";

const ROUNDS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 5000);
const cc = Bun.which("cc") ?? Bun.which("gcc");
if (!cc) {
  console.log("skipped: no C compiler for the simulator");
  process.exit(0);
}
const dir = mkdtempSync(`${tmpdir()}/ld-bench-visacpu-`);
const built = Bun.spawnSync([cc, "-O2", "-o", `${dir}/_visa_sim`, `${import.meta.dir}/_visa_sim.c`]);
if (built.exitCode !== 0) throw new Error(built.stderr.toString());
const sim = Bun.spawn([`${dir}/_visa_sim`, "2"], { stdout: "pipe", stderr: "inherit" });

interface Cpu {
  js: number;
  proc: number;
  us: number;
}

const ports = await readPorts(sim.stdout);
const rm = new ResourceManager({ netIo: "event-loop" });
try {
  const inst = await rm.open(`TCPIP0::127.0.0.1::${ports[0]}::SOCKET`);
  const bare = new Bare();
  await bare.connect(ports[1]!);
  const work = [
    { name: "*IDN? text", n: N, ours: () => inst.query("*IDN?"), bare: () => bare.query("*IDN?\n") },
    {
      name: "4 kB float32 block",
      n: N,
      ours: () => inst.queryBinaryBlock("CURV:4K?"),
      bare: () => bare.block("CURV:4K?\n"),
    },
    {
      name: "1 MB float32 block",
      n: Math.max(20, Math.floor(N / 100)),
      ours: () => inst.queryBinaryBlock("CURV:1M?"),
      bare: () => bare.block("CURV:1M?\n"),
    },
  ];
  console.log(`JS-thread / whole-process CPU µs per query, median of ${ROUNDS} rounds (uptime: ${loadAvg()})`);
  for (const w of work) {
    const ours: Cpu[] = [],
      floor: Cpu[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      floor.push(await measured(w.bare, w.n));
      ours.push(await measured(w.ours, w.n));
    }
    const pick = (xs: Cpu[], k: keyof Cpu) => median(xs.map((x) => x[k]));
    const ratios = ours.map((o, i) => (o.js / floor[i]!.js).toFixed(2)).join(", ");
    console.log(
      `  ${w.name}: ours ${pick(ours, "js").toFixed(2)} / ${pick(ours, "proc").toFixed(2)}, bare ${pick(floor, "js").toFixed(2)} / ${pick(floor, "proc").toFixed(2)}; ` +
        `JS over bare +${(pick(ours, "js") - pick(floor, "js")).toFixed(2)} µs (per round ×: ${ratios}); wall ${pick(ours, "us").toFixed(1)} vs ${pick(floor, "us").toFixed(1)} µs`,
    );
  }
  bare.socket.end();
  await inst.close();
} finally {
  await rm.close();
  sim.kill();
  await sim.exited;
  rmSync(dir, { recursive: true, force: true });
}

async function measured(op: () => Promise<unknown>, n: number): Promise<Cpu> {
  for (let i = 0; i < Math.min(500, n); i++) await op();
  const js0 = jsThreadNs(),
    u0 = process.cpuUsage(),
    t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  const t1 = performance.now(),
    u = process.cpuUsage(u0);
  return { js: (jsThreadNs() - js0) / n / 1000, proc: (u.user + u.system) / n, us: ((t1 - t0) * 1000) / n };
}

// CPU time of the JS thread alone (the main thread's task), from the scheduler's own accounting.
function jsThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

function loadAvg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
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
