// Tasks the daemon no longer holds (finished long ago, or run by an earlier run of the server), answered
// from the data directory's catalogue in the same shapes as live tasks.
import { isoNow } from "../../core/events.ts";
import type { TaskListRow } from "../../data/catalogue.ts";
import type { DataStore } from "../../data/dataStore.ts";
import type { StoredError, TaskDetail, TaskStatusName, TaskSummary } from "../schemas.ts";

/** GET /tasks lists at most this many tasks from the history. */
const MAX_LISTED = 1000;

const summaryOf = (r: TaskListRow, data: DataStore): TaskSummary => ({
  task_id: r.task_id,
  task_type: r.task_type,
  running: false,
  status: r.status as TaskStatusName,
  earlier_run: r.session_id !== data.catalogue.sessionId,
});

/** History entries for tasks the daemon does not hold (newest first). */
export function historicTasks(data: DataStore, live: (id: string) => boolean): TaskSummary[] {
  return data.catalogue
    .tasks(MAX_LISTED)
    .filter((r) => !live(r.task_id))
    .map((r) => summaryOf(r, data));
}

export function historicTask(data: DataStore, taskId: string): TaskDetail | null {
  const r = data.catalogue.task(taskId);
  if (!r) return null;
  const error = r.error === null ? null : (JSON.parse(r.error) as StoredError).error;
  return {
    ...summaryOf(r, data),
    result: r.result === null ? null : JSON.parse(r.result),
    exception:
      r.status === "failed" && error
        ? {
            error: {
              type: error.type,
              message: error.message,
              origin: error.origin,
              timestamp: error.timestamp,
              context: error.context,
            },
          }
        : null,
    progress: JSON.parse(r.progress),
    device_ids: JSON.parse(r.device_ids),
    started_at: isoNow(r.started_ms),
    finished_at: r.finished_ms === null ? null : isoNow(r.finished_ms),
    params: JSON.parse(r.params),
    run_id: r.run_id,
  };
}

export function historicTaskError(data: DataStore, taskId: string): StoredError | null {
  return historicError(data, "task", taskId);
}

/** A stored error kept in the catalogue (it outlives the server process that recorded it). */
export function historicError(data: DataStore, scope: "device" | "task", id: string): StoredError | null {
  const row = data.catalogue.error(scope, id);
  return row ? (JSON.parse(row.stored) as StoredError) : null;
}
