// Task history in the catalogue: every task's start, progress, end, result and error, fed by the daemon's
// events, so GET /tasks still answers for them after a restart.
import type { LabDaemon } from "../core/daemon.ts";
import type { ErrorEvent, TaskEvent } from "../core/events.ts";
import type { TaskHandle } from "../core/tasks.ts";
import { storedError } from "../server/errorStore.ts";
import { jsonSafe } from "../server/json.ts";
import type { Catalogue, TaskRow } from "./catalogue.ts";

/** Results larger than this (as JSON) are kept in the task's data file only, with a pointer here. */
export const MAX_RESULT_JSON = 256 * 1024;
/** Retention runs after this many tasks have finished (and at every start). */
const RETENTION_EVERY = 50;
/** Progress is written at most this often per task: a task reporting per sample must not flood the disk. */
const PROGRESS_WRITE_MS = 200;

export const json = (v: unknown): string => JSON.stringify(jsonSafe(v)) ?? "null";

export class TaskHistory {
  private readonly rows = new Map<string, TaskRow>();
  private readonly lastProgressWrite = new Map<string, number>();
  private finishedSinceRetention = 0;
  /** run_id of each task's data file, set by the recordings when a task has one. */
  readonly runIds = new Map<string, string>();

  constructor(
    private readonly daemon: LabDaemon,
    private readonly catalogue: Catalogue,
  ) {
    daemon.on("task", (e) => this.onTask(e));
    daemon.on("error", (e) => this.onError(e));
    daemon.on("device", (e) => {
      if (e.kind === "removed") catalogue.dropError("device", e.deviceId);
    });
  }

  private onTask(e: TaskEvent): void {
    if (e.kind === "started") {
      const h = this.daemon.getTask(e.taskId);
      const row: TaskRow = {
        task_id: h.taskId,
        session_id: this.catalogue.sessionId,
        task_type: h.taskType,
        params: json(h.params),
        status: h.status,
        progress: json(h.progress),
        device_ids: json(h.deviceIds),
        started_ms: h.startedAt,
        finished_ms: null,
        result: null,
        run_id: null,
        error: null,
      };
      this.rows.set(h.taskId, row);
      this.catalogue.putTask(row);
      return;
    }
    const row = this.rows.get(e.taskId);
    if (!row) return;
    const h = this.daemon.hasTask(e.taskId) ? this.daemon.getTask(e.taskId) : null;
    if (e.kind === "progress") {
      row.progress = json(e.progress);
      const now = Date.now();
      if (now - (this.lastProgressWrite.get(e.taskId) ?? 0) < PROGRESS_WRITE_MS) return;
      this.lastProgressWrite.set(e.taskId, now);
    } else if (e.kind === "paused" || e.kind === "resumed") {
      row.status = e.kind === "paused" ? "paused" : "running";
    } else {
      this.finish(row, e.kind, h);
    }
    this.catalogue.putTask(row);
  }

  private finish(row: TaskRow, status: string, h: TaskHandle | null): void {
    row.status = status;
    row.finished_ms = h?.finishedAt ?? Date.now();
    if (h) row.progress = json(h.progress);
    const result = h?.result;
    if (result !== undefined) {
      const text = json(result);
      row.result = text.length <= MAX_RESULT_JSON ? text : null;
    }
    row.run_id = this.runIds.get(row.task_id) ?? row.run_id;
    this.rows.delete(row.task_id);
    this.lastProgressWrite.delete(row.task_id);
    if (++this.finishedSinceRetention >= RETENTION_EVERY) {
      this.finishedSinceRetention = 0;
      queueMicrotask(() => this.catalogue.applyRetention());
    }
  }

  /** Set by the recordings once a task's file exists, so the row points at it. */
  linkRun(taskId: string, runId: string): void {
    this.runIds.set(taskId, runId);
    const row = this.rows.get(taskId);
    if (row) {
      row.run_id = runId;
      this.catalogue.putTask(row);
    }
  }

  /** A finished task's row after the recordings closed its file. */
  updateRunOf(taskId: string, runId: string): void {
    this.runIds.delete(taskId);
    const row = this.catalogue.task(taskId);
    if (row && row.run_id !== runId) this.catalogue.putTask({ ...row, run_id: runId });
  }

  private onError(e: ErrorEvent): void {
    const stored = storedError(e);
    this.catalogue.putError({
      scope: e.scope,
      id: e.id,
      stored: JSON.stringify(stored),
      session_id: this.catalogue.sessionId,
    });
    if (e.scope === "task") {
      const row = this.rows.get(e.id);
      if (row) {
        row.error = JSON.stringify(stored);
        this.catalogue.putTask(row);
      }
    }
  }
}
