// The data directory across restarts of the real executable: after SIGTERM and after SIGKILL, GET /tasks
// still answers for finished tasks, a task running at a crash shows "interrupted" with its last progress,
// a recording cut by SIGKILL leaves a file h5py opens, and `sqlite3 FILE .tables` works on the catalogue.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import {
  binary,
  COMPILE_GUARD_MS,
  E2E_TEST_TIMEOUT_MS,
  http,
  serve,
  type Served,
  WAIT_MS,
  workspace,
} from "./support.ts";
import { h5py, until } from "../data/support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const CONFIG = `
class Quick {
  constructor(id, params) { this.params = params; }
  run(ctx) { ctx.progress(1, "done"); return { value: 42, params: this.params }; }
}
class Fails {
  constructor() {}
  run() { throw new RangeError("boom at step 3"); }
}
class Waits {
  constructor() {}
  async run(ctx) {
    ctx.progress(0.4, "waiting for the cancel");
    ctx.record("before", [1, 2, 3]);
    await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
    return "stopped";
  }
}
export default {
  name: "data lab",
  dataDir: "store",
  devices: { daq1: { type: "SimDaq", params: { sampleRate: 20000, batchSize: 500, dtype: "float32" }, connect: true } },
  plugins: { tasks: { Quick, Fails, Waits } },
};
`;

async function startLab(ws: string): Promise<Served> {
  return serve(["--port", "0", "--config", join(ws, "lab_servers.ts")], { cwd: ws });
}

async function taskState(url: string, id: string, want: (b: any) => boolean): Promise<any> {
  return until(
    async () => {
      const r = await http(url, `/tasks/${id}`);
      return r.status === 200 && want(r.body) ? r.body : null;
    },
    `task ${id}`,
    WAIT_MS,
  );
}

/** Starts one finished, one failed and one waiting task, and a stream recording that is under way. */
async function fill(s: Served): Promise<{ runId: string }> {
  expect(
    (await http(s.url, "/tasks", { body: { task_id: "quick", task_type: "Quick", params: { n: 3 } } })).status,
  ).toBe(200);
  expect((await http(s.url, "/tasks", { body: { task_id: "fails", task_type: "Fails" } })).status).toBe(200);
  expect((await http(s.url, "/tasks", { body: { task_id: "waits", task_type: "Waits" } })).status).toBe(200);
  await taskState(s.url, "quick", (b) => b.status === "completed");
  await taskState(s.url, "fails", (b) => b.status === "failed");
  await taskState(s.url, "waits", (b) => b.progress.fraction === 0.4);
  const rec = await http(s.url, "/devices/daq1/record", { body: { name: "long" } });
  expect(rec.status).toBe(200);
  // Past the first flush (at most 0.5 s apart): the file holds samples however the process ends.
  await until(
    async () => {
      const r = await http(s.url, `/runs/${rec.body.run_id}`);
      return (r.body.datasets.find((d: any) => d.name === "samples")?.shape[0] ?? 0) >= 20_000;
    },
    "a second of samples",
    WAIT_MS,
  );
  await Bun.sleep(1100); // a flush interval passes with those samples handed to the writer
  return { runId: rec.body.run_id };
}

/** A first server in a fresh workspace, filled, then ended by `end` (whatever happens while filling). */
async function firstRun(end: (s: Served) => Promise<void>): Promise<{ ws: string; runId: string }> {
  const ws = await workspace({ "lab_servers.ts": CONFIG });
  const first = await startLab(ws);
  try {
    const { runId } = await fill(first);
    return { ws, runId };
  } finally {
    await end(first);
  }
}

async function checkHistory(url: string): Promise<void> {
  const list = (await http(url, "/tasks")).body.tasks;
  const byId = Object.fromEntries(list.map((t: any) => [t.task_id, t]));
  expect(byId.quick).toMatchObject({ status: "completed", running: false, earlier_run: true });
  expect(byId.fails).toMatchObject({ status: "failed", earlier_run: true });
  const quick = (await http(url, "/tasks/quick")).body;
  expect(quick).toMatchObject({
    status: "completed",
    result: { value: 42, params: { n: 3 } },
    params: { n: 3 },
    earlier_run: true,
  });
  const fails = (await http(url, "/tasks/fails")).body;
  expect(fails.exception.error).toMatchObject({ type: "RangeError", message: "boom at step 3" });
  const stored = await http(url, "/tasks/fails/error");
  expect(stored.status).toBe(200);
  expect(stored.body.error.traceback).toContain("boom at step 3");
}

describe("data across restarts of the executable", () => {
  test("SIGKILL: finished tasks answer, the running one is interrupted with its progress, the cut recording opens in h5py", async () => {
    const { ws, runId } = await firstRun(async (first) => {
      first.proc.kill("SIGKILL");
      await first.proc.exited;
    });
    const second = await startLab(ws);
    try {
      await checkHistory(second.url);
      const waits = (await http(second.url, "/tasks/waits")).body;
      expect(waits).toMatchObject({
        status: "interrupted",
        running: false,
        earlier_run: true,
        progress: { fraction: 0.4, message: "waiting for the cancel" },
      });
      expect(waits.run_id).toBeString();
      const run = (await http(second.url, `/runs/${runId}`)).body;
      expect(run).toMatchObject({ status: "interrupted", earlier_run: true, device_id: "daq1" });
      const got = h5py(
        join(ws, "store", "runs", `${runId}.h5`),
        `
f = h5py.File(FILE, "r")
seq = f["batch_sequence"][()]
n = min(int(f["samples"].shape[0]), int(seq.shape[0]) * 500)
print(json.dumps({"samples": int(f["samples"].shape[0]), "batches": int(seq.shape[0]), "continuous": bool(((seq[1:] - seq[:-1]) == 1).all()),
  "device": py(f.attrs["device_id"])}))`,
      );
      expect(got.samples).toBeGreaterThanOrEqual(20_000);
      expect(got.continuous).toBe(true);
      expect(got.device).toBe("daq1");
      // The catalogue describes what the cut file holds, as it does a closed one's: datasets, size, CSV.
      expect(run.datasets.find((d: any) => d.name === "samples")).toEqual({
        name: "samples",
        shape: [got.samples],
        dtype: "float32",
      });
      expect(run.bytes).toBeGreaterThan(0);
      const listed = (await http(second.url, "/runs")).body.runs.find((r: any) => r.run_id === runId);
      expect(listed.bytes).toBe(run.bytes);
      const csv = await fetch(`${second.url}/runs/${runId}/file?format=csv`);
      expect(csv.status).toBe(200);
      const lines = (await csv.text()).trimEnd().split("\n");
      expect([lines[0], lines.length]).toEqual(["samples", got.samples + 1]);
      // The task's file too (it recorded before it was cut off).
      const taskFile = h5py(
        join(ws, "store", "runs", `${waits.run_id}.h5`),
        `
f = h5py.File(FILE, "r")
print(json.dumps(f["before"][()].tolist()))`,
      );
      expect(taskFile).toEqual([1, 2, 3]);
      const tables = Bun.spawnSync(["sqlite3", join(ws, "store", "catalogue.sqlite"), ".tables"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(tables.exitCode).toBe(0);
      expect(tables.stdout.toString().split(/\s+/).filter(Boolean).sort()).toEqual([
        "errors",
        "runs",
        "sessions",
        "tasks",
      ]);
    } finally {
      await second.terminate();
    }
  });

  test("SIGTERM: the recording is closed complete, the running task recorded as cancelled", async () => {
    const { ws, runId } = await firstRun(async (first) => {
      const { exitCode } = await first.terminate();
      expect(exitCode).toBe(0);
    });
    const second = await startLab(ws);
    try {
      await checkHistory(second.url);
      expect((await http(second.url, "/tasks/waits")).body).toMatchObject({
        status: "cancelled",
        result: "stopped",
        earlier_run: true,
      });
      const run = (await http(second.url, `/runs/${runId}`)).body;
      expect(run.status).toBe("completed");
      expect(run.metadata).toMatchObject({ complete: true, sequence_gaps: 0 });
      const got = h5py(
        join(ws, "store", "runs", `${runId}.h5`),
        `
f = h5py.File(FILE, "r")
print(json.dumps({"samples": int(f["samples"].shape[0]), "attr": int(f.attrs["sample_count"]), "status": py(f.attrs["status"])}))`,
      );
      expect(got.samples).toBe(got.attr);
      expect(got.status).toBe("completed");
      expect(run.metadata.sample_count).toBe(got.samples);
    } finally {
      await second.terminate();
    }
  });

  test("a data directory that cannot be written is a configuration error at start", async () => {
    const ws = await workspace({ "lab_servers.ts": CONFIG, store: "a file where the folder should be" });
    const r = await serve(["--port", "0", "--config", join(ws, "lab_servers.ts")], { cwd: ws }).then(
      (s) => s.terminate().then(() => null),
      (e: Error) => e.message,
    );
    expect(r).toMatch(/data directory .*store cannot be used/);
    expect(r).not.toMatch(/\n\s+at /); // one line, no stack trace
  });
});
