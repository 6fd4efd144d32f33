// SweepTask: steps a tunable laser across a wavelength range and reads a power meter at each step —
// the basic transmission measurement. Pausable between points; a cancelled sweep keeps the points it
// has measured; the dwell time can be changed while it runs.
import { TaskCancelledError, TaskError, type TaskContext } from "../src/index.ts";

export interface SweepParams {
  laser_id?: string;
  meter_id?: string;
  /** nm; default 1549 and 1552. */
  start_wl?: number;
  stop_wl?: number;
  /** Points including both ends; default 31. */
  steps?: number;
  /** Wait after each tuning before reading, ms; settable while running. Default 0. */
  dwell_ms?: number;
  /** Laser power for the sweep, mW; default: leave as set. */
  power_mw?: number;
}

export interface SweepResult {
  wavelengths: number[];
  powers: number[];
  /** false when the sweep was cancelled before its last point. */
  complete: boolean;
  /** The point of lowest transmitted power (the resonance), null before the first point. */
  minimum: { wavelength: number; power: number } | null;
}

interface Laser {
  setWavelength(nm: number): Promise<unknown>;
  setPower(mw: number): Promise<unknown>;
  enableOutput(on: boolean): Promise<unknown>;
}
interface Meter {
  readPower(): Promise<number>;
}

const MAX_STEPS = 100_000;

export class SweepTask {
  readonly taskId: string;
  readonly deviceIds: string[];
  readonly laserId: string;
  readonly meterId: string;
  readonly start: number;
  readonly stop: number;
  readonly steps: number;
  readonly powerMw: number | undefined;
  #dwellMs: number;
  #done = 0;

  constructor(taskId: string, params: SweepParams = {}) {
    this.taskId = taskId;
    this.laserId = params.laser_id ?? "laser1";
    this.meterId = params.meter_id ?? "pm1";
    this.start = params.start_wl ?? 1549;
    this.stop = params.stop_wl ?? 1552;
    this.steps = params.steps ?? 31;
    this.powerMw = params.power_mw;
    this.#dwellMs = checkDwell(params.dwell_ms ?? 0);
    if (typeof this.laserId !== "string" || typeof this.meterId !== "string") throw new TypeError("laser_id and meter_id must be device ids");
    if (!Number.isFinite(this.start) || !Number.isFinite(this.stop)) throw new TypeError("start_wl and stop_wl must be numbers (nm)");
    if (!Number.isInteger(this.steps) || this.steps < 1 || this.steps > MAX_STEPS) throw new RangeError(`steps must be an integer within 1–${MAX_STEPS}`);
    if (this.powerMw !== undefined && !(typeof this.powerMw === "number" && this.powerMw >= 0)) throw new RangeError("power_mw must be a non-negative number");
    this.deviceIds = [this.laserId, this.meterId];
  }

  async run(ctx: TaskContext): Promise<SweepResult> {
    const laser = ctx.daemon.getDevice<Laser>(this.laserId);
    const meter = ctx.daemon.getDevice<Meter>(this.meterId);
    const result: SweepResult = { wavelengths: [], powers: [], complete: false, minimum: null };
    if (this.powerMw !== undefined) await laser.setPower(this.powerMw);
    await laser.enableOutput(true);
    for (let i = 0; i < this.steps; i++) {
      try {
        await ctx.checkpoint();
      } catch (e) {
        if (e instanceof TaskCancelledError) return result;
        throw e;
      }
      const wl = this.steps === 1 ? this.start : this.start + ((this.stop - this.start) * i) / (this.steps - 1);
      await laser.setWavelength(round(wl));
      if (this.#dwellMs > 0) await abortableDelay(this.#dwellMs, ctx.signal);
      if (ctx.cancelled) return result;
      const p = await meter.readPower();
      result.wavelengths.push(round(wl));
      result.powers.push(p);
      if (!result.minimum || p < result.minimum.power) result.minimum = { wavelength: round(wl), power: p };
      this.#done = i + 1;
      ctx.progress(this.#done / this.steps, `${this.#done}/${this.steps} at ${round(wl)} nm`);
    }
    result.complete = true;
    return result;
  }

  setParameter(key: string, value: unknown): number {
    if (key !== "dwell_ms") throw new TaskError(`SweepTask '${this.taskId}': only dwell_ms can change while running, not '${key}'`, { task_id: this.taskId, key });
    this.#dwellMs = checkDwell(value);
    return this.#dwellMs;
  }

  getParameter(key: string): unknown {
    switch (key) {
      case "dwell_ms": return this.#dwellMs;
      case "points_done": return this.#done;
      case "steps": return this.steps;
      case "start_wl": return this.start;
      case "stop_wl": return this.stop;
      default: throw new TaskError(`SweepTask '${this.taskId}' has no parameter '${key}'`, { task_id: this.taskId, key });
    }
  }
}

function checkDwell(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 60_000) throw new RangeError(`dwell_ms must be a number within 0–60000, got ${JSON.stringify(v)}`);
  return v;
}

/** Picometre resolution: keeps 1549.1 from printing as 1549.1000000000001. */
function round(nm: number): number {
  return Math.round(nm * 1000) / 1000;
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
