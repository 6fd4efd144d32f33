// The launcher from the compiled executable: its own CPU while five servers it started sit idle (one
// health timer), against the same launcher with no server in the same run; and the page's load time in
// Chromium, against a tiny response of the same server as the floor.
// Goals: < 1 % of one CPU with five servers idle; page loaded in < 300 ms.
// Usage: bun bench/launcher.ts [--seconds N] [--loads N] [--page-only]
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compileExecutable } from "../tools/compile.ts";
import { buildPages } from "../tools/webBuild.ts";
import { openBrowser } from "../test/support/browser.ts";

const ROOT = resolve(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg("--seconds", 20);
const LOADS = arg("--loads", 20);
const PROFILES = 5;
const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

const dir = mkdtempSync(join(tmpdir(), "ld-bench-launcher-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
await buildPages(ROOT); // the executable embeds build/web as it finds it
await compileExecutable(ROOT, { quiet: true });
const exe = join(dir, "labdaemon");
copyFileSync(join(ROOT, "dist/labdaemon"), exe);
mkdirSync(join(dir, "home"));
const profiles = Array.from(
  { length: PROFILES },
  (_, i) => `  p${i + 1}:\n    port: 0\n    devices:\n      laser1: { type: SimLaser, connect: true }\n`,
).join("");
writeFileSync(join(dir, "lab_servers.yaml"), `configs:\n${profiles}`);

const launcher = Bun.spawn([exe, "launcher", "--no-open", "--port", "0"], {
  cwd: dir,
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: join(dir, "home"), LABDAEMON_RUN_DIR: join(dir, "run") },
  stdout: "pipe",
  stderr: "ignore",
  stdin: "ignore",
});
process.on("exit", () => launcher.kill("SIGKILL"));
let out = "";
const reader = (launcher.stdout as ReadableStream<Uint8Array>).getReader();
while (!/token=\S+\n/.test(out)) {
  const { value, done } = await reader.read();
  if (done) throw new Error("launcher exited before printing its URL");
  out += new TextDecoder().decode(value);
}
const [, base, token] = /(http:\/\/127\.0\.0\.1:\d+\/)\?token=(\S+)/.exec(out)!;
const api = async (method: string, path: string) =>
  (await fetch(new URL(path, base), { method, headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;

function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** CPU of `pids` over `seconds`, as a percentage of one CPU. */
async function cpu(pids: number[], seconds: number): Promise<number[]> {
  const before = pids.map(ticks);
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ((ticks(p) - before[i]!) / CLK_TCK / wall) * 100);
}

const SKIP_CPU = process.argv.includes("--page-only");
// Other work on the machine moves every figure here: say how busy it was.
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(
  `launcher: ${PROFILES} profiles, ${SECONDS} s per CPU window, clock ${CLK_TCK} ticks/s; load average ${loadavg()} on ${navigator.hardwareConcurrency} CPUs`,
);
const [idle0] = SKIP_CPU ? [0] : await cpu([launcher.pid], SECONDS);
for (let i = 1; i <= PROFILES; i++) await api("POST", `/api/profiles/p${i}/start`);
for (;;) {
  const { profiles: ps } = await api("GET", "/api/profiles");
  if (ps.every((p: any) => p.state === "healthy")) break;
  if (ps.some((p: any) => p.state === "crashed")) throw new Error(`a server crashed: ${JSON.stringify(ps)}`);
  await Bun.sleep(100);
}
const children: number[] = (await api("GET", "/api/profiles")).profiles.map((p: any) => p.pid);
await Bun.sleep(2000); // past the start-up polls
const [idle5, ...childCpu] = SKIP_CPU ? [0, 0] : await cpu([launcher.pid, ...children], SECONDS);
const fmt = (x: number) => `${x.toFixed(3)} %`;
console.log(`| launcher | CPU (% of one core) |`);
console.log(`|---|---|`);
console.log(`| no server running (baseline) | ${fmt(idle0!)} |`);
console.log(`| ${PROFILES} servers running, idle | ${fmt(idle5!)} (+${fmt(idle5! - idle0!)}) |`);
console.log(`| (each idle server itself, mean) | ${fmt(childCpu.reduce((a, b) => a + b, 0) / childCpu.length)} |`);
console.log(`goal < 1 % with ${PROFILES} servers: ${idle5! < 1 ? "met" : "NOT met"}`);

const b = await openBrowser();
const pageMs: number[] = [];
const readyMs: number[] = [];
const floorMs: number[] = [];
const dclMs: number[] = [];
const respMs: number[] = [];
const nav = () =>
  b.page.evaluate(() => {
    const n = (globalThis as any).performance.getEntriesByType("navigation")[0];
    return n.loadEventEnd - n.startTime;
  });
const parts = () =>
  b.page.evaluate(() => {
    const n = (globalThis as any).performance.getEntriesByType("navigation")[0];
    return [n.responseEnd - n.startTime, n.domContentLoadedEventEnd - n.startTime] as [number, number];
  });
await b.page.goto(`${base}?token=${token}`); // the token into sessionStorage, warm-up
for (let i = 0; i < LOADS; i++) {
  await b.page.goto(`${base}api/nothing`);
  floorMs.push(await nav());
  await b.page.goto(base);
  await b.page.waitForFunction(
    () => (globalThis as any).performance.getEntriesByType("navigation")[0].loadEventEnd > 0,
  );
  pageMs.push(await nav());
  const [resp, dcl] = await parts();
  respMs.push(resp);
  dclMs.push(dcl);
  await b.page.locator("tr[data-profile]").first().waitFor();
  readyMs.push(
    await b.page.evaluate(() => (globalThis as any).performance.getEntriesByName("launcher:listed")[0].startTime),
  );
}
await b[Symbol.asyncDispose]();
const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)]!;
const max = (xs: number[]) => Math.max(...xs);
const size = (await fetch(base, { headers: { "accept-encoding": "gzip" } })).headers.get("content-length");
console.log(
  `\npage: ${LOADS} loads from the binary, Chromium headless (page ${size ?? "?"} bytes gzipped); load average ${loadavg()}`,
);
console.log(`| load | median ms | max ms | vs floor |`);
console.log(`|---|---|---|---|`);
console.log(
  `| tiny JSON 404 of the same server (floor) | ${median(floorMs).toFixed(1)} | ${max(floorMs).toFixed(1)} | 1 |`,
);
console.log(`| launcher page, response received | ${median(respMs).toFixed(1)} | ${max(respMs).toFixed(1)} | — |`);
console.log(
  `| launcher page, DOMContentLoaded (script run) | ${median(dclMs).toFixed(1)} | ${max(dclMs).toFixed(1)} | — |`,
);
console.log(
  `| launcher page, load event | ${median(pageMs).toFixed(1)} | ${max(pageMs).toFixed(1)} | ${(median(pageMs) / median(floorMs)).toFixed(1)}× |`,
);
console.log(
  `| launcher page, servers listed (its first /api/profiles answered) | ${median(readyMs).toFixed(1)} | ${max(readyMs).toFixed(1)} | — |`,
);
console.log(
  `goal page load < 300 ms: ${median(pageMs) < 300 ? "met" : "NOT met"} (median), ${max(pageMs) < 300 ? "met" : "not met"} (every load)`,
);

await api("POST", "/api/quit");
await launcher.exited;
