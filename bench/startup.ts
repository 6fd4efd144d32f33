// The appliance's start-up: executable size, time from exec to the first healthy /health, and idle
// RSS, for `labdaemon serve --sim` (three simulated devices connected, the DAQ's addon loaded) against
// a compiled bun executable that only answers /health, built and measured in the same run.
// Goal: healthy in < 300 ms after exec. Usage: bun bench/startup.ts [--runs N]
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { $ } from "bun";
import { compileExecutable } from "../tools/compile.ts";

const ROOT = resolve(import.meta.dir, "..");
const runsAt = process.argv.indexOf("--runs");
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 15;
const HEALTH_DEADLINE_MS = 10_000;
const IDLE_MS = 1000;

const dir = mkdtempSync(join(tmpdir(), "ld-bench-startup-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

await compileExecutable(ROOT, { quiet: true });
const labdaemon = join(dir, "labdaemon");
copyFileSync(join(ROOT, "dist/labdaemon"), labdaemon); // run from a folder with nothing else in it
const floor = join(dir, "health-only");
await $`${process.execPath} build --compile --minify ${join(import.meta.dir, "_health_server.ts")} --outfile ${floor}`.quiet();

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(200) });
    return r.status === 200;
  } catch {
    return false;
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** ms from spawn to the first 200 from /health, and RSS after IDLE_MS of idling. */
async function once(cmd: string[], measureRss: boolean): Promise<{ ms: number; rss: number }> {
  const port = freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([...cmd, "--port", String(port)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: dir, TMPDIR: tmpdir() },
    stdout: "ignore",
    stderr: "ignore",
  });
  let ms = Number.NaN;
  while (performance.now() - t0 < HEALTH_DEADLINE_MS) {
    if (await healthy(port)) {
      ms = performance.now() - t0;
      break;
    }
    await Bun.sleep(1);
  }
  if (Number.isNaN(ms)) {
    proc.kill("SIGKILL");
    throw new Error(`${cmd.join(" ")} not healthy within ${HEALTH_DEADLINE_MS} ms`);
  }
  let rss = Number.NaN;
  if (measureRss) {
    await Bun.sleep(IDLE_MS); // idle is a state over time: nothing to await
    rss = rssMiB(proc.pid);
  }
  proc.kill("SIGTERM");
  await proc.exited;
  return { ms, rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(label: string, cmd: string[]) {
  await once(cmd, false); // the first exec pays for page-cache misses and the addon's unpacking
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await once(cmd, false)).ms);
  const { rss } = await once(cmd, true);
  return { label, median: median(times), min: Math.min(...times), max: Math.max(...times), rss };
}

async function versionMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await Bun.spawn([labdaemon, "--version"], { stdout: "ignore" }).exited;
    times.push(performance.now() - t0);
  }
  return median(times);
}

const base = await measure("bun executable answering /health only", [floor]);
const ours = await measure("labdaemon serve --sim --log-level warn", [
  labdaemon,
  "serve",
  "--sim",
  "--log-level",
  "warn",
]);
const version = await versionMs();

const mb = (f: string) => (statSync(f).size / 1e6).toFixed(1);
console.log(`executable: labdaemon ${mb(labdaemon)} MB, health-only bun executable ${mb(floor)} MB`);
console.log(`runs: ${RUNS} each (after one warm-up), exec → first 200 from /health, polled every ~1 ms\n`);
console.log(`${"".padEnd(42)} median ms   min   max   idle RSS MiB`);
for (const r of [base, ours]) {
  console.log(
    `${r.label.padEnd(42)} ${r.median.toFixed(1).padStart(9)} ${r.min.toFixed(1).padStart(5)} ${r.max.toFixed(1).padStart(5)} ${r.rss.toFixed(1).padStart(14)}`,
  );
}
console.log(`\nlabdaemon --version: ${version.toFixed(1)} ms median`);
console.log(
  `start-up ratio vs the floor: ${(ours.median / base.median).toFixed(2)}× (+${(ours.median - base.median).toFixed(1)} ms); ` +
    `RSS +${(ours.rss - base.rss).toFixed(1)} MiB. Goal < 300 ms: ${ours.median < 300 ? "met" : "NOT met"}.`,
);
