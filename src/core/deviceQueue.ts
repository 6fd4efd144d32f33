// Per-device FIFO: one call at a time per instrument, async methods included, in arrival order.
// The idle fast path runs a call at once and only allocates the caller's promise. Once the call holding
// the device has timed out, the device is "stuck": calls behind it fail fast instead of each waiting out
// its own bound, and a disconnect may run beside the stuck call to abort its I/O.
import { BusyError, DeviceTimeoutError } from "./errors.ts";

/**
 * What a call submitted (or waiting) while the device is stuck does: `fail` at once (the default),
 * run `beside` the stuck call (a disconnect that aborts the hung I/O), or `wait` its turn behind it
 * (cleanup that must follow the stuck call, such as stopping a stream whose start timed out).
 */
export type WhenStuck = "fail" | "beside" | "wait";

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  label: string;
  timeoutMs: number;
  timer?: ReturnType<typeof setTimeout>;
  done: boolean;
  /** In `jobs`, counted in `waiting`. */
  queued?: boolean;
  whenStuck: WhenStuck;
  /** Cleanup (stopping a stream, disconnecting): its caller's timeout answers the caller, but the job
   * keeps its place and still runs, even once the queue is closed. */
  runsAnyway?: boolean;
}

export const DEFAULT_QUEUE_LIMIT = 10_000;

export class DeviceQueue {
  private busy = false;
  /** The running call whose caller timed out: the device is stuck until it settles. */
  private stuck: Job | null = null;
  /** Calls running beside a stuck one (see WhenStuck). */
  private beside = 0;
  private jobs: (Job | undefined)[] = [];
  private head = 0;
  private closedWith: Error | null = null;

  constructor(
    readonly deviceId: string,
    private readonly limit = DEFAULT_QUEUE_LIMIT,
  ) {}

  /** Calls waiting that can still run (one that timed out while waiting no longer counts). */
  get pending(): number {
    return this.waiting;
  }

  private waiting = 0;

  get isBusy(): boolean {
    return this.busy;
  }

  /** The label of the timed-out call still holding the device, or null. */
  get stuckWith(): string | null {
    return this.stuck?.label ?? null;
  }

  /**
   * Runs `fn` when the device is free. `timeoutMs` bounds the caller's wait (waiting + running): on
   * expiry the caller gets DeviceTimeoutError; a method already running still holds the device until it
   * settles, so two calls never overlap on the instrument.
   */
  run<T>(
    fn: () => T | Promise<T>,
    label: string,
    timeoutMs = 0,
    whenStuck: WhenStuck = "fail",
    runsAnyway = false,
  ): Promise<Awaited<T>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.stuck && whenStuck !== "wait") {
      if (whenStuck === "beside") return this.interject(fn, label, timeoutMs);
      return Promise.reject(this.stuckError(label));
    }
    if (!this.busy) {
      // Fast path: no queue, no timer unless asked for.
      let value: unknown;
      try {
        value = fn();
      } catch (e) {
        return Promise.reject(e);
      }
      if (!isThenable(value)) return Promise.resolve(value as Awaited<T>);
      return new Promise<Awaited<T>>((resolve, reject) => {
        const job: Job = {
          fn,
          resolve: resolve as (v: unknown) => void,
          reject,
          label,
          timeoutMs,
          done: false,
          whenStuck,
        };
        this.busy = true;
        this.armTimer(job);
        this.settleWith(job, value as PromiseLike<unknown>);
      });
    }
    if (this.pending >= this.limit) {
      return Promise.reject(
        new BusyError(
          `device '${this.deviceId}' has ${this.pending} calls waiting (limit ${this.limit}); refusing '${label}'`,
          { device_id: this.deviceId, method: label },
        ),
      );
    }
    return new Promise<Awaited<T>>((resolve, reject) => {
      const job: Job = {
        fn,
        resolve: resolve as (v: unknown) => void,
        reject,
        label,
        timeoutMs,
        done: false,
        queued: true,
        whenStuck,
        runsAnyway,
      };
      this.armTimer(job);
      this.jobs.push(job);
      this.waiting++;
    });
  }

  /**
   * Runs `fn` now, beside the stuck call, bounded by `timeoutMs`: a disconnect that aborts hung I/O
   * (waiting behind that call would never clean it up). The device is held until both have settled.
   */
  private interject<T>(fn: () => T | Promise<T>, label: string, timeoutMs: number): Promise<Awaited<T>> {
    return new Promise<Awaited<T>>((resolve, reject) => {
      const job: Job = {
        fn,
        resolve: resolve as (v: unknown) => void,
        reject,
        label,
        timeoutMs,
        done: false,
        whenStuck: "beside",
      };
      this.startBeside(job);
    });
  }

  private startBeside(job: Job): void {
    this.beside++;
    this.armTimer(job);
    const settled = (ok: boolean, v: unknown) => {
      this.finish(job, ok, v);
      this.beside--;
      if (this.running === null && this.beside === 0) this.next();
    };
    try {
      Promise.resolve(job.fn()).then(
        (v) => settled(true, v),
        (e) => settled(false, e),
      );
    } catch (e) {
      settled(false, e);
    }
  }

  private stuckError(label: string): DeviceTimeoutError {
    const stuck = this.stuck!;
    return new DeviceTimeoutError(
      `device '${this.deviceId}' still busy with a timed-out call '${stuck.label}'; '${label}' was not sent`,
      { device_id: this.deviceId, method: label, busy_with: stuck.label, timeout_ms: stuck.timeoutMs },
    );
  }

  /** The running call's caller timed out: waiting calls fail now, a waiting disconnect starts beside it. */
  private becomeStuck(job: Job): void {
    this.stuck = job;
    const keep: Job[] = [];
    while (this.head < this.jobs.length) {
      const waiting = this.jobs[this.head];
      this.jobs[this.head++] = undefined;
      if (!waiting || waiting.done) continue;
      if (waiting.whenStuck === "wait") {
        keep.push(waiting);
        continue;
      }
      waiting.queued = false;
      this.waiting--;
      if (waiting.timer) clearTimeout(waiting.timer);
      waiting.timer = undefined;
      if (waiting.whenStuck === "beside") this.startBeside(waiting);
      else this.finish(waiting, false, this.stuckError(waiting.label));
    }
    this.jobs = keep;
    this.head = 0;
  }

  /** Rejects everything waiting (but cleanup, which still runs in turn) and every later call (the device
   * was removed). */
  close(error: Error): void {
    this.closedWith = error;
    const keep: Job[] = [];
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head];
      this.jobs[this.head++] = undefined;
      if (!job || job.done) continue;
      if (job.runsAnyway && this.busy) keep.push(job);
      else this.finish(job, false, error);
    }
    this.jobs = keep;
    this.head = 0;
    this.waiting = keep.length;
  }

  private armTimer(job: Job): void {
    if (job.timeoutMs > 0) {
      job.timer = setTimeout(() => {
        if (job.queued && job.runsAnyway) {
          // The caller is answered; the cleanup keeps its place and runs when its turn comes.
          const reject = job.reject;
          job.resolve = job.reject = () => {};
          job.timer = undefined;
          reject(this.timeoutError(job));
          return;
        }
        if (job.queued) {
          job.queued = false;
          this.waiting--;
          // Calls that timed out behind a hung one are dropped from the array too, so it stays bounded.
          if (this.jobs.length - this.head > 2 * this.waiting + 1024) {
            this.jobs = this.jobs.slice(this.head).filter((j) => j !== undefined && !j.done && j !== job);
            this.head = 0;
          }
        }
        this.finish(job, false, this.timeoutError(job));
        // The caller is answered now, but a running method keeps the device until it settles: the next
        // call must not talk to an instrument that is still in the middle of the last exchange. Callers
        // behind it fail fast rather than each wait out a hung instrument in turn.
        if (this.running === job) this.becomeStuck(job);
      }, job.timeoutMs);
    }
  }

  private timeoutError(job: Job): DeviceTimeoutError {
    return new DeviceTimeoutError(
      `call '${job.label}' on device '${this.deviceId}' timed out after ${job.timeoutMs} ms`,
      { device_id: this.deviceId, method: job.label, timeout_ms: job.timeoutMs },
    );
  }

  private running: Job | null = null;

  private settleWith(job: Job, value: PromiseLike<unknown>): void {
    this.running = job;
    value.then(
      (v) => this.complete(job, true, v),
      (e) => this.complete(job, false, e),
    );
  }

  private complete(job: Job, ok: boolean, v: unknown): void {
    this.finish(job, ok, v);
    if (this.running !== job) return;
    this.running = null;
    if (this.stuck === job) this.stuck = null;
    if (this.beside === 0) this.next();
  }

  private finish(job: Job, ok: boolean, v: unknown): void {
    if (job.done) return;
    job.done = true;
    if (job.timer) clearTimeout(job.timer);
    ok ? job.resolve(v) : job.reject(v);
  }

  private next(): void {
    this.running = null;
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      this.jobs[this.head++] = undefined;
      if (job.done) continue; // timed out while waiting (no longer counted)
      job.queued = false;
      this.waiting--;
      let value: unknown;
      try {
        value = job.fn();
      } catch (e) {
        this.finish(job, false, e);
        continue;
      }
      if (isThenable(value)) {
        this.compact();
        this.settleWith(job, value);
        return;
      }
      this.finish(job, true, value);
    }
    this.compact();
    this.busy = false;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
  }
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function"
  );
}
