// One request at a time, in the order they were made, each with its own deadline from the moment its
// turn comes: the queue a NetSession runs its requests through. A NetIoError a request throws reaches
// the caller as the DeviceError it stands for, naming the resource as the caller wrote it.
import { DeviceNotConnectedError, DeviceOperationError } from "../../core/errors.ts";
import { NetIoError, netDeviceError } from "../ioErrors.ts";
import { MAX_WAIT_MS, checkWaitMs } from "./waitMs.ts";

/** Requests waiting behind the one in progress; beyond this a caller is refused rather than queued. */
export const MAX_QUEUED = 100_000;

interface Request {
  ms: number;
  job: (deadline: number) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class RequestQueue {
  #given: string;
  #queue: Request[] = [];
  #head = 0;
  #running = false;
  #closed = false;

  /** `given` is the resource string as the caller wrote it (errors carry it). */
  constructor(given: string) {
    this.#given = given;
  }

  /** Whether a request is running (others may wait behind it). */
  get running(): boolean {
    return this.#running;
  }

  /** Requests submitted from now on are refused; those already submitted still run. */
  close(): void {
    this.#closed = true;
  }

  /** Fails every request still waiting for its turn with `e` (as its caller's error); none of them runs. */
  failWaiting(e: NetIoError): void {
    const waiting = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const r of waiting) if (r) r.reject(this.callerError(e));
  }

  submit<T>(timeoutMs: number, job: (deadline: number) => Promise<T>): Promise<T> {
    // checkWaitMs, inlined for the common case.
    if (!(timeoutMs > 0 && timeoutMs <= MAX_WAIT_MS)) return this.#refuse(timeoutMs);
    if (this.#closed)
      return Promise.reject(new DeviceNotConnectedError(`${this.#given} is closed`, { resource: this.#given }));
    if (this.#queue.length - this.#head >= MAX_QUEUED) {
      return Promise.reject(
        new DeviceOperationError(`${this.#given}: more than ${MAX_QUEUED} requests waiting`, { resource: this.#given }),
      );
    }
    if (!this.#running) {
      // Nothing queued: start now, without a trip through the queue.
      this.#running = true;
      const p = this.#run(job, timeoutMs);
      p.then(this.#next, this.#next);
      return p;
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ ms: timeoutMs, job, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** The idle fast path: when nothing runs (and the request would be accepted), marks the queue busy and
   * returns the request's deadline; the caller then settles it with finished() or hands it to
   * runStarted(). -1 otherwise: submit() the request. */
  begin(timeoutMs: number): number {
    if (this.#running || this.#closed || !(timeoutMs > 0 && timeoutMs <= MAX_WAIT_MS)) return -1;
    this.#running = true;
    return performance.now() + Math.ceil(timeoutMs);
  }

  /** Runs a request begun with begin() the general way: errors mapped, then the next in line. */
  runStarted<T>(job: (deadline: number) => Promise<T>, deadline: number): Promise<T> {
    let p: Promise<T>;
    try {
      p = job(deadline).then(undefined, this.#toError);
    } catch (e) {
      p = Promise.reject(this.callerError(e));
    }
    p.then(this.#next, this.#next);
    return p;
  }

  /** A request begun with begin() has settled its caller: the next one in line runs now. */
  finished(): void {
    this.#next();
  }

  /** The error a caller receives for `e`. */
  callerError(e: unknown): unknown {
    return e instanceof NetIoError ? netDeviceError(e, this.#given) : e;
  }

  #refuse<T>(timeoutMs: unknown): Promise<T> {
    return Promise.reject(checkWaitMs("timeoutMs", timeoutMs) ?? new RangeError(`timeoutMs: ${timeoutMs}`));
  }

  // The deadline starts when the request's turn comes, so queued requests each get their full timeout.
  #run<T>(job: (deadline: number) => Promise<T>, timeoutMs: number): Promise<T> {
    try {
      return job(performance.now() + Math.ceil(timeoutMs)).then(undefined, this.#toError);
    } catch (e) {
      return Promise.reject(this.callerError(e)); // a job that threw before its first await
    }
  }

  readonly #toError = (e: unknown): never => {
    throw e instanceof NetIoError ? netDeviceError(e, this.#given) : e;
  };

  // After each request: the next one in line, or idle.
  readonly #next = (): void => {
    if (this.#head >= this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
      this.#running = false;
      return;
    }
    const r = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Request;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const p = this.#run(r.job, r.ms);
    p.then(r.resolve, r.reject);
    p.then(this.#next, this.#next);
  };
}
