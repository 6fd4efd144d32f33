// GET /stream/tasks: lifecycle and progress events of tasks.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { RawStream, startSseServer, type TestServer } from "./sseSupport.ts";

let srv: TestServer;
const open: RawStream[] = [];
beforeEach(async () => {
  srv = await startSseServer();
});
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await srv.stop();
});
async function tasks(query = "", headers: Record<string, string> = {}) {
  const s = await RawStream.open(`${srv.base}/stream/tasks${query}`, headers);
  open.push(s);
  return s;
}
const parsed = (s: RawStream) => s.events.map((e) => ({ name: e.event, id: e.id, ...JSON.parse(e.data) }));

test("a task's life arrives as task_started, task_progress…, task_completed", async () => {
  const s = await tasks();
  const h = srv.daemon.executeTask("t1", "SteppedTask", { steps: 3, stepMs: 1 });
  await h.wait({ timeoutMs: 20_000 }); // a hang guard
  await s.until(() => s.events.some((e) => e.event === "task_completed"));
  const ev = parsed(s);
  expect(ev.map((e) => e.name)).toEqual([
    "task_started",
    "task_progress",
    "task_progress",
    "task_progress",
    "task_completed",
  ]);
  expect(ev.every((e) => e.name === e.event && e.task_id === "t1" && e.task_type === "SteppedTask")).toBe(true);
  expect(ev.map((e) => e.status)).toEqual(["running", "running", "running", "running", "completed"]);
  expect(ev[3].progress).toEqual({ fraction: 1, message: "step 3" });
  expect(ev.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
  expect(ev.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
});

test("pause, resume, cancel and failure are streamed; ?task_id= filters", async () => {
  const all = await tasks();
  const only = await tasks("?task_id=t2");
  const h = srv.daemon.executeTask("t1", "SteppedTask", { steps: 1000, stepMs: 2 });
  h.pause();
  h.resume();
  h.cancel();
  await h.settled;
  srv.daemon.executeTask("t2", "FailingTask", {});
  await all.until(() => all.events.some((e) => e.event === "task_failed"));
  await only.until(() => only.events.some((e) => e.event === "task_failed"));
  const names = parsed(all)
    .filter((e) => e.task_id === "t1" && e.name !== "task_progress")
    .map((e) => e.name);
  expect(names).toEqual(["task_started", "task_paused", "task_resumed", "task_cancelled"]);
  const failed = parsed(all).find((e) => e.name === "task_failed")!;
  expect(failed.status).toBe("failed");
  expect(typeof failed.error.type).toBe("string");
  expect(parsed(only).map((e) => e.task_id)).toEqual(["t2", "t2"]);
});

test("a progress event sent after a pause (the step in flight finishing) says paused, not running", async () => {
  const s = await tasks();
  const h = srv.daemon.executeTask("t1", "SteppedTask", { steps: 1000, stepMs: 20 });
  try {
    await s.until(() => s.events.some((e) => e.event === "task_progress"));
    h.pause();
    const afterPause = () => {
      const ev = parsed(s);
      return ev.slice(ev.findIndex((e) => e.name === "task_paused") + 1).filter((e) => e.name === "task_progress");
    };
    await s.until(() => parsed(s).some((e) => e.name === "task_paused") && afterPause().length > 0);
    expect(afterPause().map((e) => e.status)).toEqual(["paused"]);
  } finally {
    h.resume();
    h.cancel();
    await h.settled;
  }
});

test("a dashboard reconnecting with Last-Event-ID gets what it missed", async () => {
  const a = await tasks();
  await srv.daemon.executeTask("t1", "MockTask", { delay: 1 }).wait();
  await a.until(() => a.events.length === 2);
  const last = a.events.at(-1)!.id!;
  a.close();
  await srv.daemon.executeTask("t2", "MockTask", { delay: 1 }).wait();
  const b = await tasks("", { "last-event-id": last });
  await b.until(() => b.events.length === 2);
  expect(parsed(b).map((e) => [e.name, e.task_id, e.sequence])).toEqual([
    ["task_started", "t2", 3],
    ["task_completed", "t2", 4],
  ]);
});
