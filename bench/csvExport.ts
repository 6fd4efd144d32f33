// A large CSV export through a real server process: the server's peak memory rise while it sends a
// 2,000,000-row {x, y} run as CSV, against the same run's HDF5 file downloaded from the same server in
// the same run (the baseline: a file sent as it is), with the CSV's size beside it; and the time of each.
// The peak is the kernel's VmHWM of the server process, reset just before each download.
// Usage: bun bench/csvExport.ts [rows, default 2000000]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const rows = Number(process.argv[2] ?? 2_000_000);
const dir = mkdtempSync(join(tmpdir(), "ld-bench-csv-"));
writeFileSync(
  join(dir, "lab.ts"),
  `class Big {
  constructor(id, params) { this.params = params; }
  run(ctx) {
    const n = this.params.n;
    ctx.record("big", { x: Float64Array.from({ length: n }, (_, i) => i / 7), y: Float64Array.from({ length: n }, () => Math.random()) });
    return null;
  }
}
export default { name: "csv bench", dataDir: "store", plugins: { tasks: { Big } } };
`,
);
const server = Bun.spawn(
  ["bun", join(import.meta.dir, "../src/cli/main.ts"), "serve", "--port", "0", "--config", join(dir, "lab.ts")],
  { cwd: dir, stdout: "pipe", stderr: "inherit" },
);
try {
  let url = "";
  let out = "";
  for await (const chunk of server.stdout) {
    out += new TextDecoder().decode(chunk);
    const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) {
      url = m[1]!;
      break;
    }
  }
  if (!url) throw new Error(`the server did not start: ${out}`);
  const mb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))![1]) / 1024;
  const post = await fetch(`${url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ task_id: "big", task_type: "Big", params: { n: rows } }),
  });
  if (post.status !== 200) throw new Error(`task refused: ${await post.text()}`);
  let runId = "";
  for (const end = Date.now() + 120_000; !runId && Date.now() < end; await Bun.sleep(100)) {
    const runs = (await (await fetch(`${url}/runs?task_id=big`)).json()) as {
      runs: { run_id: string; status: string }[];
    };
    const run = runs.runs.find((r) => r.status === "completed");
    if (run) runId = run.run_id;
  }
  if (!runId) throw new Error("the recording did not complete within 120 s");

  /** Downloads with curl (another process, so only the server's memory is measured): bytes, ms, peak rise. */
  const download = async (query: string) => {
    await Bun.sleep(500); // let the server settle after the last download
    writeFileSync(`/proc/${server.pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    const before = mb("VmRSS");
    const t0 = performance.now();
    const c = Bun.spawn(
      ["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", `${url}/runs/${runId}/file${query}`],
      {
        stdout: "pipe",
      },
    );
    const bytes = Number(await new Response(c.stdout).text());
    if ((await c.exited) !== 0) throw new Error(`curl failed for ${query}`);
    return { bytes, ms: performance.now() - t0, riseMb: mb("VmHWM") - before };
  };
  const h5 = await download("");
  const csv = await download("?format=csv");
  const f = (n: number) => n.toFixed(0);
  console.log(`rows ${rows}; HDF5 file ${f(h5.bytes / 2 ** 20)} MiB, CSV ${f(csv.bytes / 2 ** 20)} MiB`);
  console.log(`HDF5 download (baseline): ${f(h5.ms)} ms, server peak +${f(h5.riseMb)} MB`);
  console.log(`CSV export:               ${f(csv.ms)} ms, server peak +${f(csv.riseMb)} MB`);
  console.log(
    `summary: csv-peak/csv-size ${(csv.riseMb / (csv.bytes / 2 ** 20)).toFixed(2)} csv-peak-minus-hdf5 ${f(csv.riseMb - h5.riseMb)} MB csv-time/hdf5-time ${(csv.ms / h5.ms).toFixed(1)}`,
  );
} finally {
  server.kill();
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
