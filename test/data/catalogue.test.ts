// The run catalogue on its own: retention by count and age never drops a running task, tasks that left the
// daemon's buffer still answer, and ctx.record without a data directory says what is missing.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Catalogue, type TaskRow } from "../../src/data/catalogue.ts";
import { LabDaemon, TaskFailedError } from "../../src/index.ts";
import { dataTasks, startDataServer, tempDataDir, until, type DataServer } from "./support.ts";

const row = (id: string, status: string, finishedMs: number | null, sessionId: number): TaskRow => ({
  task_id: id,
  session_id: sessionId,
  task_type: "T",
  params: "{}",
  status,
  progress: '{"fraction":0}',
  device_ids: "[]",
  started_ms: (finishedMs ?? Date.now()) - 10,
  finished_ms: finishedMs,
  result: null,
  run_id: null,
  error: null,
});

describe("retention", () => {
  test("keeps the newest finished tasks up to the count, drops older ones and their errors, never a running task", () => {
    const file = join(tempDataDir(), "c.sqlite");
    const c = new Catalogue(file, { retention: { tasks: 3 }, version: "t", host: "h" });
    const now = Date.now();
    c.putTask(row("running-old", "running", null, c.sessionId));
    for (let i = 0; i < 6; i++) c.putTask(row(`t${i}`, "completed", now - (6 - i) * 1000, c.sessionId));
    c.putError({ scope: "task", id: "t0", stored: "{}", session_id: c.sessionId });
    c.applyRetention();
    expect(
      c
        .tasks(100)
        .map((r) => r.task_id)
        .sort(),
    ).toEqual(["running-old", "t3", "t4", "t5"]);
    expect(c.error("task", "t0")).toBeNull();
    c.close();
  });

  test("drops finished tasks older than the age limit", () => {
    const file = join(tempDataDir(), "c.sqlite");
    const c = new Catalogue(file, { retention: { tasks: 100, days: 1 }, version: "t", host: "h" });
    c.putTask(row("old", "failed", Date.now() - 2 * 86_400_000, c.sessionId));
    c.putTask(row("new", "completed", Date.now() - 1000, c.sessionId));
    c.applyRetention();
    expect(c.tasks(100).map((r) => r.task_id)).toEqual(["new"]);
    c.close();
  });

  test("a reopened catalogue marks tasks of a dead server interrupted, keeping their progress", () => {
    const file = join(tempDataDir(), "c.sqlite");
    const a = new Catalogue(file, { version: "t", host: "h" });
    a.putTask({ ...row("cut", "running", null, a.sessionId), progress: '{"fraction":0.7,"message":"step 7"}' });
    // The process that wrote it is gone: its session's pid is one no process has.
    a.flush();
    a.db.run("UPDATE sessions SET pid = 2147483646 WHERE session_id = ?", [a.sessionId]);
    a.close();
    const b = new Catalogue(file, { version: "t", host: "h" });
    expect(b.task("cut")).toMatchObject({ status: "interrupted", progress: '{"fraction":0.7,"message":"step 7"}' });
    expect(b.sessionId).toBeGreaterThan(a.sessionId);
    b.close();
  });

  test("a reopened catalogue leaves a live server's running tasks alone (two servers sharing a directory)", () => {
    const file = join(tempDataDir(), "c.sqlite");
    const a = new Catalogue(file, { version: "t", host: "h" });
    a.putTask(row("live", "running", null, a.sessionId));
    a.flush();
    a.db.run("UPDATE sessions SET pid = ? WHERE session_id = ?", [process.ppid, a.sessionId]);
    const b = new Catalogue(file, { version: "t", host: "h" });
    expect(b.task("live")!.status).toBe("running");
    a.close();
    b.close();
  });
});

describe("history through the server", () => {
  let s: DataServer;
  afterAll(() => s?.close());

  test("tasks evicted from the daemon's finished buffer still answer GET /tasks and GET /tasks/{id}", async () => {
    s = await startDataServer(tempDataDir());
    for (let i = 0; i < 8; i++)
      expect((await s.req("POST", "/tasks", { task_id: `r${i}`, task_type: "Returns", params: { i } })).status).toBe(
        200,
      );
    await until(async () => (await s.req("GET", "/tasks/r7")).body?.status === "completed", "the last task");
    expect(s.daemon.hasTask("r0")).toBe(false); // the buffer holds 5
    const r0 = await s.req("GET", "/tasks/r0");
    expect(r0.status).toBe(200);
    expect(r0.body).toMatchObject({
      task_id: "r0",
      status: "completed",
      result: { echo: { i: 0 }, value: 42 },
      earlier_run: false,
    });
    const ids = (await s.req("GET", "/tasks")).body.tasks.map((t: any) => t.task_id);
    for (let i = 0; i < 8; i++) expect(ids.filter((id: string) => id === `r${i}`)).toHaveLength(1);
  }, 30_000);

  test("an evicted task's controls answer as a finished task's do: cancel not_running, the rest 409, never 404", async () => {
    expect(s.daemon.hasTask("r0")).toBe(false);
    const cancel = await s.req("POST", "/tasks/r0/cancel");
    expect([cancel.status, cancel.body]).toEqual([
      200,
      { status: "not_running", task_id: "r0", task_status: "completed" },
    ]);
    for (const [method, path, body] of [
      ["POST", "/tasks/r0/pause", undefined],
      ["POST", "/tasks/r0/resume", undefined],
      ["POST", "/tasks/r0/parameters", { key: "i", value: 1 }],
      ["GET", "/tasks/r0/parameters/i", undefined],
    ] as const) {
      const r = await s.req(method, path, body);
      expect({ path, status: r.status, type: r.body.error.type, context: r.body.error.context }).toEqual({
        path,
        status: 409,
        type: "TaskNotRunning",
        context: { task_id: "r0", status: "completed" },
      });
    }
    expect((await s.req("POST", "/tasks/never/cancel")).status).toBe(404);
  });

  test("DELETE /tasks/{id}/error clears the kept copy too", async () => {
    await s.req("POST", "/tasks", { task_id: "f1", task_type: "Fails" });
    await until(async () => (await s.req("GET", "/tasks/f1")).body?.status === "failed", "the failure");
    expect((await s.req("GET", "/tasks/f1/error")).status).toBe(200);
    expect((await s.req("DELETE", "/tasks/f1/error")).status).toBe(204);
    expect((await s.req("GET", "/tasks/f1/error")).status).toBe(404);
  });
});

test("ctx.record without a data directory fails the task, naming what is missing", async () => {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ tasks: dataTasks });
  const h = daemon.executeTask("t", "RecordAll");
  const err = await h.wait().catch((e: TaskFailedError) => e);
  expect(err).toBeInstanceOf(TaskFailedError);
  expect(String((err as TaskFailedError).cause)).toMatch(/no data directory is configured/);
  await daemon.shutdown();
});

test("several servers opening one data directory at the same moment all get the catalogue (none meets 'database is locked')", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ld-cat-race-"));
  const file = join(dir, "catalogue.sqlite");
  const script = `import { Catalogue } from ${JSON.stringify(join(import.meta.dir, "../../src/data/catalogue.ts"))};
// All open at one agreed moment, so their switches to WAL really collide (bun -e: the arguments start at argv[1]).
const [file, at] = process.argv.slice(1);
await Bun.sleep(Math.max(0, Number(at) - Date.now()));
const c = new Catalogue(file, { version: "test", host: "h" }); c.close(); console.log("opened");`;
  try {
    for (let round = 0; round < 3; round++) {
      rmSync(file, { force: true });
      const at = String(Date.now() + 3000);
      const procs = Array.from({ length: 6 }, () =>
        Bun.spawn([process.execPath, "-e", script, file, at], { stdout: "pipe", stderr: "pipe" }),
      );
      const outs = await Promise.all(
        procs.map(async (p) => ({
          out: (await new Response(p.stdout).text()).trim(),
          err: await new Response(p.stderr).text(),
          code: await p.exited,
        })),
      );
      for (const o of outs) expect(o).toEqual({ out: "opened", err: "", code: 0 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("a device's stored error outlives a restart until it is cleared", async () => {
  const dir = tempDataDir();
  const first = await startDataServer(dir);
  first.daemon.recordDeviceError("daq3", new RangeError("probe fault"), "device");
  expect((await first.req("GET", "/devices/daq3/error")).status).toBe(200);
  await first.close();

  const second = await startDataServer(dir);
  try {
    const kept = await second.req("GET", "/devices/daq3/error");
    expect(kept.status).toBe(200);
    expect(kept.body.error).toMatchObject({ type: "RangeError", message: "probe fault", origin: "device" });
    expect((await second.req("DELETE", "/devices/daq3/error")).status).toBe(204);
    expect((await second.req("GET", "/devices/daq3/error")).status).toBe(404);
  } finally {
    await second.close();
  }
  const third = await startDataServer(dir);
  try {
    expect((await third.req("GET", "/devices/daq3/error")).status).toBe(404);
  } finally {
    await third.close();
  }
}, 60_000);

describe("listings", () => {
  test("GET /tasks and GET /runs never read results, metadata or datasets: listing 128 MB of them takes no memory", async () => {
    const s = await startDataServer(tempDataDir());
    try {
      const c = s.data.catalogue;
      const now = Date.now();
      for (let i = 0; i < 16; i++) {
        c.putTask({ ...row(`big${i}`, "completed", now - i, c.sessionId), task_type: "Returns" });
        c.putRun({
          run_id: `20261201T000000-big-${String(i).padStart(6, "0")}`,
          kind: "task",
          session_id: c.sessionId,
          name: `big${i}`,
          task_id: `big${i}`,
          task_type: "Returns",
          device_id: null,
          status: "completed",
          file: "/nonexistent.h5",
          started_ms: now - i,
          finished_ms: now,
          notes: null,
          params: "{}",
          metadata: "{}",
          datasets: "[]",
          error: null,
          bytes: 1,
        });
      }
      c.flush();
      // 8 MB of text per row, made inside SQLite: no JavaScript string of it exists until something reads it.
      const big = "'\"' || replace(hex(zeroblob(4000000)), '0', 'x') || '\"'";
      c.db.run(`UPDATE tasks SET result = ${big} WHERE task_id LIKE 'big%'`);
      c.db.run(`UPDATE runs SET metadata = ${big} WHERE run_id LIKE '%-big-%'`);
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      const tasks = await s.req("GET", "/tasks");
      const runs = await s.req("GET", "/runs?limit=1000");
      const grew = process.resourceUsage().maxRSS * 1024 - peakBefore;
      expect(tasks.body.tasks.filter((t: any) => t.task_id.startsWith("big"))).toHaveLength(16);
      expect(runs.body.runs.filter((r: any) => r.name.startsWith("big"))).toHaveLength(16);
      // Reading the rows whole holds 16 × 8 MB of each table at once.
      expect(grew).toBeLessThan(48 << 20);
    } finally {
      await s.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
