// Helpers for the task tests: await a task's lifecycle event instead of polling its status.
import { expect } from "bun:test";
import type { TaskEventKind } from "../../src/index.ts";
import type { TestServer } from "../support/apiServer.ts";

/** Resolves at the task's next event of one of `kinds`; subscribe before starting the task. */
export function taskEvent(s: TestServer, taskId: string, ...kinds: TaskEventKind[]): Promise<TaskEventKind> {
  return new Promise((resolve) => {
    const off = s.daemon.on("task", (e) => {
      if (e.taskId === taskId && kinds.includes(e.kind)) {
        off();
        resolve(e.kind);
      }
    });
  });
}

/** POST /tasks and wait until the task has ended (the event fires before any eviction). */
export async function runToEnd(
  s: TestServer,
  taskId: string,
  taskType: string,
  params: Record<string, unknown> = {},
): Promise<TaskEventKind> {
  const ended = taskEvent(s, taskId, "completed", "failed", "cancelled");
  const r = await s.req("POST", "/tasks", { task_id: taskId, task_type: taskType, params });
  expect(r.status).toBe(200);
  return ended;
}
