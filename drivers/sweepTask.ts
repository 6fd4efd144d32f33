// SweepTask: steps a tunable laser across a wavelength range and reads a power meter at each step —
// the basic transmission measurement. Pausable between points; a cancelled sweep keeps the points it
// has measured; the dwell time can be changed while it runs. Whatever the outcome, the laser's output,
// power and wavelength are put back as they were before the sweep.
import type { StaticDecode } from "@sinclair/typebox";
import { t } from "elysia";
import { TaskCancelledError, TaskParameterError, type DeviceProxy, type TaskContext } from "../src/index.ts";

const MAX_STEPS = 100_000;
const MAX_DWELL_MS = 60_000;

/** What the constructor reads; the daemon refuses anything else before constructing. */
const SweepParamsSchema = t.Object(
  {
    laser_id: t.Optional(t.String({ minLength: 1, description: 'device id of the tunable laser; default "laser1"' })),
    meter_id: t.Optional(t.String({ minLength: 1, description: 'device id of the power meter; default "pm1"' })),
    start_wl: t.Optional(t.Number({ description: "first wavelength, nm; default 1549" })),
    stop_wl: t.Optional(t.Number({ description: "last wavelength, nm; default 1552" })),
    steps: t.Optional(
      t.Integer({ minimum: 1, maximum: MAX_STEPS, description: "points including both ends; default 31" }),
    ),
    dwell_ms: t.Optional(
      t.Number({
        minimum: 0,
        maximum: MAX_DWELL_MS,
        description: "wait after each tuning before reading, ms; settable while running; default 0",
      }),
    ),
    power_mw: t.Optional(t.Number({ minimum: 0, description: "laser power for the sweep, mW; default: leave as set" })),
  },
  { additionalProperties: false },
);

export type SweepParams = StaticDecode<typeof SweepParamsSchema>;

/** Live parameters getParameter answers; only dwell_ms can be set while running. */
const READABLE = ["dwell_ms", "points_done", "steps", "start_wl", "stop_wl"] as const;
const SETTABLE = ["dwell_ms"] as const;

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
  /** Optional: read so the sweep can restore them; a laser without them has its output switched off after. */
  isOutputEnabled?(): Promise<boolean>;
  getWavelength?(): Promise<number>;
  getPower?(): Promise<number>;
}

/** What the sweep changes on the laser, as it was before (undefined: the laser cannot say). */
interface LaserState {
  output?: boolean;
  wavelength?: number;
  power?: number;
}
interface Meter {
  readPower(): Promise<number>;
}

export class SweepTask {
  static params = SweepParamsSchema;

  readonly taskId: string;
  readonly deviceIds: string[];
  /** Checked by the daemon before the sweep starts: a meter named as the laser fails at once. */
  readonly requiredMethods: Record<string, string[]>;
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
    if (typeof this.laserId !== "string" || typeof this.meterId !== "string")
      throw new TypeError("laser_id and meter_id must be device ids");
    if (!Number.isFinite(this.start) || !Number.isFinite(this.stop))
      throw new TypeError("start_wl and stop_wl must be numbers (nm)");
    if (!Number.isInteger(this.steps) || this.steps < 1 || this.steps > MAX_STEPS)
      throw new RangeError(`steps must be an integer within 1–${MAX_STEPS}`);
    if (this.powerMw !== undefined && !(typeof this.powerMw === "number" && this.powerMw >= 0))
      throw new RangeError("power_mw must be a non-negative number");
    this.deviceIds = [this.laserId, this.meterId];
    const laserMethods = ["setWavelength", "enableOutput", ...(this.powerMw !== undefined ? ["setPower"] : [])];
    this.requiredMethods = { [this.laserId]: laserMethods };
    this.requiredMethods[this.meterId] = [...(this.requiredMethods[this.meterId] ?? []), "readPower"];
  }

  async run(ctx: TaskContext): Promise<SweepResult> {
    const laser = ctx.daemon.getDevice<Laser>(this.laserId);
    const meter = ctx.daemon.getDevice<Meter>(this.meterId);
    const result: SweepResult = { wavelengths: [], powers: [], complete: false, minimum: null };
    const before = await saveState(laser);
    let failed = false;
    try {
      await this.#sweep(ctx, laser, meter, result);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      // A failure to restore is reported unless the sweep already failed (its own error says more).
      await restoreState(laser, before).catch((e) => {
        if (!failed) throw e;
      });
    }
    return result;
  }

  async #sweep(
    ctx: TaskContext,
    laser: DeviceProxy<Laser>,
    meter: DeviceProxy<Meter>,
    result: SweepResult,
  ): Promise<void> {
    if (this.powerMw !== undefined) await laser.setPower(this.powerMw);
    await laser.enableOutput(true);
    for (let i = 0; i < this.steps; i++) {
      try {
        await ctx.checkpoint();
      } catch (e) {
        if (e instanceof TaskCancelledError) return;
        throw e;
      }
      const wl = this.steps === 1 ? this.start : this.start + ((this.stop - this.start) * i) / (this.steps - 1);
      await laser.setWavelength(round(wl));
      if (this.#dwellMs > 0) await abortableDelay(this.#dwellMs, ctx.signal);
      if (ctx.cancelled) return;
      const p = await meter.readPower();
      result.wavelengths.push(round(wl));
      result.powers.push(p);
      if (!result.minimum || p < result.minimum.power) result.minimum = { wavelength: round(wl), power: p };
      this.#done = i + 1;
      ctx.progress(this.#done / this.steps, `${this.#done}/${this.steps} at ${round(wl)} nm`);
    }
    result.complete = true;
  }

  setParameter(key: string, value: unknown): number {
    if (key !== "dwell_ms") {
      throw new TaskParameterError(`SweepTask '${this.taskId}': only dwell_ms can change while running, not '${key}'`, {
        task_id: this.taskId,
        key,
        known: [...SETTABLE],
      });
    }
    this.#dwellMs = checkDwell(value);
    return this.#dwellMs;
  }

  getParameter(key: string): unknown {
    switch (key) {
      case "dwell_ms":
        return this.#dwellMs;
      case "points_done":
        return this.#done;
      case "steps":
        return this.steps;
      case "start_wl":
        return this.start;
      case "stop_wl":
        return this.stop;
      default:
        throw new TaskParameterError(
          `SweepTask '${this.taskId}' has no parameter '${key}' (known: ${READABLE.join(", ")})`,
          { task_id: this.taskId, key, known: [...READABLE] },
        );
    }
  }
}

async function saveState(laser: DeviceProxy<Laser>): Promise<LaserState> {
  return {
    output: typeof laser.isOutputEnabled === "function" ? await laser.isOutputEnabled() : undefined,
    wavelength: typeof laser.getWavelength === "function" ? await laser.getWavelength() : undefined,
    power: typeof laser.getPower === "function" ? await laser.getPower() : undefined,
  };
}

/** Output first (off unless it was on), so no light leaves at a setting the user did not choose. */
async function restoreState(laser: DeviceProxy<Laser>, before: LaserState): Promise<void> {
  if (!before.output) await laser.enableOutput(false);
  if (before.power !== undefined) await laser.setPower(before.power);
  if (before.wavelength !== undefined) await laser.setWavelength(before.wavelength);
  if (before.output) await laser.enableOutput(true);
}

function checkDwell(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_DWELL_MS) {
    throw new RangeError(`dwell_ms must be a number within 0–${MAX_DWELL_MS}, got ${JSON.stringify(v)}`);
  }
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
