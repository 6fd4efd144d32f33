// Task handles: the life of one task run, from start to a final status, with pause, cancel and progress.
import { NotSupportedError, TaskCancelledError, TaskError, TaskFailedError, TimeoutError, asError } from "./errors.ts";
import type { LabDaemonApi } from "./daemonTypes.ts";
import { withDeadline } from "./deadline.ts";
import type { ErrorOrigin, TaskEventKind } from "./events.ts";
import { taskRecorder } from "./recorder.ts";
import { clip } from "./clip.ts";

export type TaskStatus = "running" | "paused" | "completed" | "failed" | "cancelled";

export interface TaskProgress {
  fraction: number;
  message?: string;
}

/** The daemon as a task sees it: a LabDaemon's whole surface. */
export type TaskDaemon = LabDaemonApi<TaskHandle>;

export interface TaskContext {
  readonly taskId: string;
  readonly daemon: TaskDaemon;
  /** Aborted when the task is cancelled: pass it to fetch, timers, instrument waits. */
  readonly signal: AbortSignal;
  readonly cancelled: boolean;
  /** Resolves when not paused; throws TaskCancelledError once cancelled. Call it between steps. */
  checkpoint(): Promise<void>;
  progress(fraction: number, message?: string): void;
  /**
   * Saves data in the task's HDF5 file: a number, a numeric array / typed array, or an `{x, y}` series;
   * repeated calls with one name append. Needs a data directory (`serve --data-dir`).
   */
  record(name: string, data: unknown, attrs?: Record<string, unknown>): void;
  /** Starts a child task that is cancelled with this one. */
  executeTask(taskId: string, taskType: string, params?: Record<string, unknown>): TaskHandle;
}

/** What a task class provides (plain classes, no base class). */
export interface Task {
  deviceIds?: string[];
  /**
   * Device id → the methods run() calls on it; checked before the task starts, so a device given in
   * the wrong role fails with a message instead of a "not a function" mid-run.
   */
  requiredMethods?: Record<string, readonly string[]>;
  run(ctx: TaskContext): unknown;
  setParameter?(key: string, value: unknown): unknown;
  getParameter?(key: string): unknown;
}

export interface TaskHooks {
  emit(kind: TaskEventKind, handle: TaskHandle, extra?: Record<string, unknown>): void;
  failed(handle: TaskHandle, error: Error): void;
  /** Resolves (never rejects) when run() may start: the claimed devices finished what they were doing. */
  beforeRun?(signal: AbortSignal): Promise<void> | undefined;
  /** The task reached its final status: its devices are freed (before the event announcing it). */
  released?(handle: TaskHandle): void;
  /** After the event: the task moves to the finished ones. */
  settled(handle: TaskHandle): void;
}

export class TaskHandle {
  private _status: TaskStatus = "running";
  private _result: unknown = undefined;
  private _error: Error | null = null;
  private _progress: TaskProgress = { fraction: 0 };
  private cancelRequested = false;
  private readonly abort = new AbortController();
  private pauseGate: { promise: Promise<void>; open: () => void } | null = null;
  private readonly settledPromise: Promise<void>;
  private markSettled!: () => void;
  private readonly children = new Set<TaskHandle>();
  readonly startedAt = Date.now();
  finishedAt: number | null = null;
  /** Set by the daemon when the task failed: whose error it was and the ids involved. */
  failure: { origin: ErrorOrigin; context: Record<string, unknown> } | null = null;
  /** The parameters the task was started with (kept for its history and its data files). */
  params: Readonly<Record<string, unknown>> = {};

  constructor(
    readonly taskId: string,
    readonly taskType: string,
    readonly task: Task,
    readonly deviceIds: readonly string[],
    private readonly daemon: TaskDaemon,
    private readonly hooks: TaskHooks,
  ) {
    this.settledPromise = new Promise((r) => (this.markSettled = r));
  }

  get status(): TaskStatus {
    return this._status;
  }
  get result(): unknown {
    return this._result;
  }
  get progress(): TaskProgress {
    return this._progress;
  }
  /** Resolves (never rejects) once the task has a final status. */
  get settled(): Promise<void> {
    return this.settledPromise;
  }
  isRunning(): boolean {
    return this._status === "running" || this._status === "paused";
  }
  isPaused(): boolean {
    return this._status === "paused";
  }
  exception(): Error | null {
    return this._error;
  }

  /** Resolves with the result; rejects TaskFailedError, TaskCancelledError (with the partial result) or TimeoutError. */
  async wait(opts: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.isRunning()) {
      const timeoutMs = opts.timeoutMs;
      if (timeoutMs !== undefined && timeoutMs >= 0) {
        if (!(await withDeadline(this.settledPromise, timeoutMs))) {
          throw new TimeoutError(`Wait timed out for task '${this.taskId}' after ${timeoutMs} ms.`, {
            task_id: this.taskId,
          });
        }
      } else {
        await this.settledPromise;
      }
    }
    if (this._status === "failed") {
      throw new TaskFailedError(
        `Task '${this.taskId}' failed during execution: ${this._error?.message}`,
        { task_id: this.taskId },
        { cause: this._error },
      );
    }
    if (this._status === "cancelled") {
      throw new TaskCancelledError(`Task '${this.taskId}' was cancelled.`, { task_id: this.taskId }, this._result);
    }
    return this._result;
  }

  /**
   * Requests cancellation (aborts `signal`, opens the pause gate, cancels child tasks). With `force`,
   * the task is recorded as cancelled at once even if `run` ignores the request. No effect once finished.
   */
  cancel(opts: { force?: boolean } = {}): boolean {
    if (!this.isRunning()) return false;
    if (!this.cancelRequested) {
      this.cancelRequested = true;
      this.abort.abort(new TaskCancelledError(`Task '${this.taskId}' was cancelled.`, { task_id: this.taskId }));
      this.openGate();
      for (const c of this.children) c.cancel();
    }
    if (opts.force) {
      for (const c of this.children) c.cancel({ force: true });
      this.finish("cancelled");
    }
    return true;
  }

  pause(): boolean {
    if (this._status !== "running" || this.cancelRequested) return false;
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.pauseGate = { promise, open };
    this._status = "paused";
    this.hooks.emit("paused", this);
    return true;
  }

  resume(): boolean {
    if (this._status !== "paused") return false;
    this._status = "running";
    this.openGate();
    this.hooks.emit("resumed", this);
    return true;
  }

  async setParameter(key: string, value: unknown): Promise<unknown> {
    if (typeof this.task.setParameter !== "function") {
      throw new NotSupportedError(
        `Task '${this.taskId}' does not support parameter updates. The task must implement a setParameter(key, value) method.`,
        { task_id: this.taskId },
      );
    }
    return await this.task.setParameter(key, value);
  }

  async getParameter(key: string): Promise<unknown> {
    if (typeof this.task.getParameter !== "function") {
      throw new NotSupportedError(
        `Task '${this.taskId}' does not support parameter queries. The task must implement a getParameter(key) method.`,
        { task_id: this.taskId },
      );
    }
    return await this.task.getParameter(key);
  }

  /** Runs the task; called once by the daemon right after the handle is stored. */
  start(): void {
    const ctx = this.makeContext();
    this.hooks.emit("started", this);
    // Only a task whose devices are still busy waits: the others start run() as soon as they always did.
    const ready = this.hooks.beforeRun?.(this.abort.signal) ?? Promise.resolve();
    ready
      .then(() => {
        // Force-cancelled while it waited for its devices: it is over and its claim is gone, so run()
        // must not start on devices another task may own by now.
        if (!this.isRunning())
          throw new TaskCancelledError(`Task '${this.taskId}' was cancelled.`, { task_id: this.taskId });
        return this.task.run(ctx);
      })
      .then(
        (value) => {
          this._result = value;
          this.finish(this.cancelRequested ? "cancelled" : "completed");
        },
        (e) => {
          if (this.cancelRequested) {
            if (e instanceof TaskCancelledError && e.result !== undefined) this._result = e.result;
            this.finish("cancelled");
          } else {
            this._error = asError(e);
            this.finish("failed");
          }
        },
      );
  }

  private finish(status: "completed" | "failed" | "cancelled"): void {
    if (!this.isRunning()) return;
    this._status = status;
    this.finishedAt = Date.now();
    this.openGate();
    if (status === "completed") this._progress = { ...this._progress, fraction: 1 };
    // Its devices are free before anyone hears it ended: a listener may start the next task on them.
    this.hooks.released?.(this);
    if (status === "failed" && this._error) {
      this.hooks.failed(this, this._error);
      this.hooks.emit("failed", this, { error: { type: this._error.name, message: this._error.message } });
    } else {
      this.hooks.emit(status, this);
    }
    this.markSettled();
    this.hooks.settled(this);
  }

  private openGate(): void {
    const g = this.pauseGate;
    this.pauseGate = null;
    g?.open();
  }

  private makeContext(): TaskContext {
    const handle = this;
    return {
      taskId: this.taskId,
      daemon: this.daemon,
      signal: this.abort.signal,
      get cancelled() {
        return handle.cancelRequested;
      },
      checkpoint: () => this.checkpoint(),
      progress: (fraction, message) => this.setProgress(fraction, message),
      record: (name, data, attrs) => {
        const recorder = taskRecorder(this.daemon);
        if (!recorder) {
          throw new TaskError(
            `Task '${this.taskId}' cannot record '${clip(String(name), 80)}': no data directory is configured (serve --data-dir)`,
            { task_id: this.taskId },
          );
        }
        recorder.record(this.taskId, name, data, attrs);
      },
      executeTask: (taskId, taskType, params = {}) => {
        const child = this.daemon.executeTask(taskId, taskType, params);
        this.children.add(child);
        void child.settled.then(() => this.children.delete(child));
        if (this.cancelRequested) child.cancel();
        return child;
      },
    };
  }

  private async checkpoint(): Promise<void> {
    while (this.pauseGate && !this.cancelRequested) await this.pauseGate.promise;
    if (this.cancelRequested) {
      throw new TaskCancelledError(`Task '${this.taskId}' was cancelled.`, { task_id: this.taskId });
    }
  }

  private setProgress(fraction: number, message?: string): void {
    if (typeof fraction !== "number" || !Number.isFinite(fraction)) {
      throw new TypeError(`progress fraction must be a finite number, got ${String(fraction)}`);
    }
    this._progress = {
      fraction: Math.min(1, Math.max(0, fraction)),
      ...(message !== undefined ? { message: String(message) } : {}),
    };
    if (this.isRunning()) this.hooks.emit("progress", this, { progress: this._progress });
  }
}
