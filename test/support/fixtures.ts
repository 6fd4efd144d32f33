// Device and task classes shared by the core, server and client tests.
import { t } from "elysia";
import { DeviceConnectionError, type TaskContext } from "../../src/index.ts";

/** Resolves after `ms`; for simulating instrument time inside fixtures, never to wait for an outcome. */
export const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * A wait's timeout only guards against a hang, and a loaded machine must not trip it: waits get at
 * least this long. A test that means to bound a duration measures it and says what the bound proves.
 */
export const MIN_WAIT_MS = 10_000;

/** Resolves when `cond()` holds, polling each macrotask; rejects after `timeoutMs` (at least MIN_WAIT_MS). */
export async function until(cond: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> {
  const guardMs = Math.max(timeoutMs, MIN_WAIT_MS);
  const end = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${guardMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export class MockDevice {
  connected = false;
  connects = 0;
  disconnects = 0;
  value = 0;
  counter = 0;
  address: string;
  constructor(
    readonly deviceId: string,
    params: { address?: string } = {},
  ) {
    this.address = params.address ?? "SIM";
  }
  connect() {
    this.connects++;
    this.connected = true;
  }
  disconnect() {
    this.disconnects++;
    this.connected = false;
  }
  isConnected() {
    return this.connected;
  }
  getValue() {
    return this.value;
  }
  setValue(value: number) {
    const old = this.value;
    this.value = value;
    return old;
  }
  addNumbers(a: number, b: number) {
    return a + b;
  }
  hello() {
    return `Hello from ${this.deviceId}`;
  }
  /** Non-atomic read-modify-write: only per-device serialisation keeps the count right. */
  async increment() {
    const v = this.counter;
    await delay(1);
    this.counter = v + 1;
    return this.counter;
  }
  /** Calls its own public method through `this`: must not deadlock. */
  async incrementTwice() {
    await this.increment();
    return this.increment();
  }
  fail(message = "Test error") {
    throw new RangeError(message);
  }
  async slow(ms: number) {
    await delay(ms);
    return ms;
  }
  get computed() {
    return this.value * 2;
  }
  _secret() {
    return "secret";
  }
}

export class SlowConnectingDevice extends MockDevice {
  connectDelay: number;
  constructor(id: string, params: { connectDelay?: number } = {}) {
    super(id);
    this.connectDelay = params.connectDelay ?? 200;
  }
  override async connect() {
    await delay(this.connectDelay);
    super.connect();
  }
}

export class FailingConnectingDevice extends MockDevice {
  override connect(): void {
    throw new DeviceConnectionError("Failed to connect to mock hardware");
  }
}

export class StreamingDevice extends MockDevice {
  private timer: ReturnType<typeof setInterval> | null = null;
  sampleInterval: number;
  starts = 0;
  stops = 0;
  constructor(id: string, params: { sampleInterval?: number } = {}) {
    super(id);
    this.sampleInterval = params.sampleInterval ?? 5;
  }
  startStreaming(cb: (d: unknown) => void) {
    if (this.timer) throw new Error("Already streaming");
    this.starts++;
    let n = 0;
    this.timer = setInterval(() => {
      cb({ sample_number: n, value: n * 0.1 });
      n++;
    }, this.sampleInterval);
  }
  stopStreaming(_timeoutMs?: number) {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.stops++;
    }
  }
  isStreaming() {
    return this.timer !== null;
  }
}

export class SlowStoppingStreamingDevice extends StreamingDevice {
  stopDelay = 300;
  override async stopStreaming(t?: number) {
    await delay(this.stopDelay);
    super.stopStreaming(t);
  }
}

/** A device that ignores every request to stop or disconnect. */
export class HungDevice extends StreamingDevice {
  override async disconnect() {
    await new Promise(() => {});
  }
  override async stopStreaming() {
    await new Promise(() => {});
  }
}

export class MockTask {
  delay: number;
  extra: unknown;
  constructor(
    readonly taskId: string,
    params: { delay?: number; extra?: unknown } = {},
  ) {
    this.delay = params.delay ?? 20;
    this.extra = params.extra;
  }
  async run(ctx: TaskContext) {
    await delay(this.delay, ctx.signal);
    return { status: "complete", task_id: this.taskId };
  }
}

export class DeviceUsingTask {
  deviceIds: string[];
  constructor(
    readonly taskId: string,
    params: { device_id: string },
  ) {
    this.deviceIds = [params.device_id];
  }
  async run(ctx: TaskContext) {
    const dev = ctx.daemon.getDevice(this.deviceIds[0]!);
    return { message: await dev.hello() };
  }
}

/** Steps until done; checks the pause gate and cancellation between steps; reports progress. */
export class SteppedTask {
  steps: number;
  stepMs: number;
  stepsCompleted = 0;
  value = 5;
  constructor(
    readonly taskId: string,
    params: { steps?: number; stepMs?: number } = {},
  ) {
    this.steps = params.steps ?? 20;
    this.stepMs = params.stepMs ?? 5;
  }
  async run(ctx: TaskContext) {
    for (let i = 0; i < this.steps; i++) {
      if (ctx.cancelled) break;
      await ctx.checkpoint().catch(() => {});
      if (ctx.cancelled) break;
      await delay(this.stepMs, ctx.signal);
      this.stepsCompleted++;
      ctx.progress(this.stepsCompleted / this.steps, `step ${this.stepsCompleted}`);
    }
    return { steps_completed: this.stepsCompleted, final_value: this.value };
  }
  setParameter(key: string, value: unknown) {
    if (key !== "value") throw new RangeError(`Unknown parameter: ${key}`);
    this.value = Number(value);
  }
  getParameter(key: string) {
    if (key === "value") return this.value;
    if (key === "steps_completed") return this.stepsCompleted;
    throw new RangeError(`Unknown parameter: ${key}`);
  }
}

export class FailingTask {
  message: string;
  constructor(
    readonly taskId: string,
    params: { message?: string } = {},
  ) {
    this.message = params.message ?? "Something went wrong";
  }
  async run() {
    await delay(1);
    throw new RangeError(this.message);
  }
}

export class ThrowingConstructorTask {
  constructor() {
    throw new RangeError("Task init failed");
  }
  run() {}
}

export class BadDeviceIdsTask {
  deviceIds: unknown;
  constructor(
    readonly taskId: string,
    params: { ids?: unknown } = {},
  ) {
    this.deviceIds = params.ids ?? "dev1";
  }
  run() {}
}

/** Ignores cancellation entirely until released. */
export class StubbornTask {
  static release: (() => void) | null = null;
  deviceIds: string[];
  constructor(
    readonly taskId: string,
    params: { device_ids?: string[] } = {},
  ) {
    this.deviceIds = params.device_ids ?? [];
  }
  run() {
    return new Promise<string>((r) => (StubbornTask.release = () => r("done")));
  }
}

/** Runs children in parallel or in sequence through ctx.executeTask. */
export class CoordinatorTask {
  children: number;
  parallel: boolean;
  childType: string;
  childParams: Record<string, unknown>;
  constructor(
    readonly taskId: string,
    p: { children?: number; parallel?: boolean; childType?: string; childParams?: Record<string, unknown> } = {},
  ) {
    this.children = p.children ?? 3;
    this.parallel = p.parallel ?? true;
    this.childType = p.childType ?? "MockTask";
    this.childParams = p.childParams ?? {};
  }
  async run(ctx: TaskContext) {
    const results: unknown[] = [];
    if (this.parallel) {
      const hs = Array.from({ length: this.children }, (_, i) =>
        ctx.executeTask(`${this.taskId}_child_${i}`, this.childType, this.childParams),
      );
      for (const [i, h] of hs.entries()) {
        try {
          results.push(await h.wait({ timeoutMs: 5000 }));
        } catch (e) {
          results.push({ error: (e as Error).name, child_index: i });
        }
      }
    } else {
      for (let i = 0; i < this.children; i++) {
        await ctx.checkpoint();
        const h = ctx.executeTask(`${this.taskId}_step_${i}`, this.childType, this.childParams);
        try {
          results.push(await h.wait({ timeoutMs: 5000 }));
        } catch (e) {
          results.push({ error: (e as Error).name, child_index: i });
        }
      }
    }
    return results;
  }
}

/** A device documenting its methods with typebox: the server validates calls against these. */
export class SchemaLaser extends MockDevice {
  static methods = {
    setWavelength: {
      params: [t.Number({ minimum: 1480, maximum: 1640 }), t.Optional(t.String())],
      doc: "Set the wavelength in nm.",
    },
    setPower: { params: [t.Number({ minimum: 0, default: 1 })], doc: "Output power, mW." },
    configure: { params: [t.Object({ mode: t.Union([t.Literal("cw"), t.Literal("pulsed")]), rate: t.Integer() })] },
    sweep: {
      params: { start_nm: t.Number(), stop_nm: t.Number(), points: t.Integer({ minimum: 2, default: 11 }) },
      doc: "Sweep, named schemas.",
    },
  };
  wavelength = 1550;
  power = 1;
  setWavelength(wavelength_nm: number, unit = "nm") {
    this.wavelength = wavelength_nm;
    return `${wavelength_nm} ${unit}`;
  }
  setPower(mw = 1) {
    this.power = mw;
    return mw;
  }
  configure(cfg: { mode: string; rate: number }) {
    return cfg;
  }
  sweep(a: number, b: number, n = 11) {
    return [a, b, n];
  }
  /** Parameters with defaults of several kinds, for introspection from source. */
  scan(start: number, stop = 10, label = "scan", fast = false, opts = { a: 1 }, ...extra: unknown[]) {
    return { start, stop, label, fast, opts, extra };
  }
}

/** Returns what JSON.stringify gets wrong or chokes on. */
export class OddResultsDevice extends MockDevice {
  nan() {
    return NaN;
  }
  infinities() {
    return [Infinity, -Infinity, 1];
  }
  floats() {
    return new Float64Array([1.5, NaN, 2]);
  }
  bytes() {
    return new Uint8Array([1, 2, 3]);
  }
  big() {
    return 2n ** 70n;
  }
  bigs() {
    return {
      small: 42n,
      edge: 2n ** 53n - 1n,
      beyond: 2n ** 53n,
      negative: -(2n ** 60n),
      list: new BigInt64Array([1n, -(2n ** 62n)]),
    };
  }
  cycle() {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    return o;
  }
  nothing() {
    return undefined;
  }
  map() {
    return new Map([["x", 1]]);
  }
  async thrownString() {
    throw "plain string";
  }
  async timeout() {
    const { DeviceTimeoutError } = await import("../../src/index.ts");
    throw new DeviceTimeoutError("instrument did not answer");
  }
  async internal() {
    throw new Error("disk on fire");
  }
}

/** Holds its devices for `ms` (or until cancelled) and checks nobody else holds them meanwhile. */
export class ExclusiveTask {
  static occupancy = new Map<string, string>();
  static violations: string[] = [];
  deviceIds: string[];
  ms: number;
  constructor(
    readonly taskId: string,
    params: { device_ids?: string[]; ms?: number } = {},
  ) {
    this.deviceIds = params.device_ids ?? [];
    this.ms = params.ms ?? 5;
  }
  async run(ctx: TaskContext) {
    for (const id of this.deviceIds) {
      const other = ExclusiveTask.occupancy.get(id);
      if (other !== undefined) ExclusiveTask.violations.push(`${id}: ${other} and ${this.taskId}`);
      ExclusiveTask.occupancy.set(id, this.taskId);
    }
    try {
      await delay(this.ms, ctx.signal);
    } finally {
      for (const id of this.deviceIds)
        if (ExclusiveTask.occupancy.get(id) === this.taskId) ExclusiveTask.occupancy.delete(id);
    }
    return this.deviceIds.length;
  }
}

export const deviceClasses = {
  MockDevice,
  SchemaLaser,
  OddResultsDevice,
  SlowConnectingDevice,
  FailingConnectingDevice,
  StreamingDevice,
  SlowStoppingStreamingDevice,
  HungDevice,
};
export const taskClasses = {
  MockTask,
  ExclusiveTask,
  DeviceUsingTask,
  SteppedTask,
  FailingTask,
  ThrowingConstructorTask,
  BadDeviceIdsTask,
  StubbornTask,
  CoordinatorTask,
};

/** Streams only when told: tests push payloads with `emit()` and know exactly what was sent. */
export class ManualStreamDevice extends MockDevice {
  private cb: ((d: unknown) => void) | null = null;
  starts = 0;
  stops = 0;
  startStreaming(cb: (d: unknown) => void) {
    this.starts++;
    this.cb = cb;
  }
  stopStreaming(_timeoutMs?: number) {
    if (this.cb) {
      this.cb = null;
      this.stops++;
    }
  }
  isStreaming() {
    return this.cb !== null;
  }
  /** Delivers one payload per argument (no-op while not streaming); returns how many were delivered. */
  emit(...payloads: unknown[]) {
    if (!this.cb) return 0;
    for (const p of payloads) this.cb(p);
    return payloads.length;
  }
}

/** A DAQ stand-in: a Float64Array batch of `batchSize` samples every `intervalMs` (a ramp, so gaps show). */
export class BatchStreamDevice extends MockDevice {
  private timer: ReturnType<typeof setInterval> | null = null;
  batchSize: number;
  intervalMs: number;
  produced = 0;
  constructor(id: string, params: { batchSize?: number; intervalMs?: number } = {}) {
    super(id);
    this.batchSize = params.batchSize ?? 100;
    this.intervalMs = params.intervalMs ?? 2;
  }
  startStreaming(cb: (d: unknown) => void) {
    if (this.timer) throw new Error("Already streaming");
    this.timer = setInterval(() => {
      const batch = new Float64Array(this.batchSize);
      for (let i = 0; i < batch.length; i++) batch[i] = this.produced * this.batchSize + i;
      this.produced++;
      cb(batch);
    }, this.intervalMs);
  }
  stopStreaming(_timeoutMs?: number) {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
  isStreaming() {
    return this.timer !== null;
  }
}
