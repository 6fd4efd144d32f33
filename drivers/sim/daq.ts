// SimDaq: a simulated DAQ card. Its samples come from the native synthetic source (sine + noise at a
// set rate) through the lock-free SampleRing, and reach the streaming callback as typed-array batches
// on one coalesced wake-up per batch, so the server's streaming path can be driven at MS/s rates.
import type { StaticDecode } from "@sinclair/typebox";
import { t } from "elysia";
import { DeviceConfigurationError, DeviceError, DeviceNotConnectedError } from "../../src/core/errors.ts";
import {
  ringCapacityFor,
  SampleRing,
  type RingCounters,
  type SampleArray,
  type SampleDType,
} from "../../src/io/sampleRing.ts";
import { SyntheticSource, type SyntheticSourceStats } from "./syntheticSource.ts";
import { describeProblems, paramsProblems } from "../../src/core/params.ts";

/** 100 MS/s: far beyond what the JS side can take, but still paced rather than a busy loop. */
const MAX_SAMPLE_RATE = 100_000_000;
/** Every batch is a wake-up and a callback on the JS thread; more than this and JS does nothing else. */
const MAX_BATCH_RATE = 10_000;
/** The native source's own limit. */
const MAX_BATCH_SIZE = 1 << 24;
/** 2^26 samples: 512 MiB of float64, the most a simulated card may claim. */
const MAX_RING_CAPACITY = 1 << 26;
/**
 * What one wake-up delivers before yielding the event loop (samples, and callbacks: a slow consumer
 * costs per call); the rest follows from setImmediate, so timers, I/O and signals run between slices
 * however far behind the consumer is.
 */
const WAKE_SLICE_SAMPLES = 1 << 16;
const WAKE_SLICE_CALLBACKS = 64;

/**
 * What the constructor reads: the synthetic source's parameters (without `paced`: a DAQ is always
 * paced) plus the ring's. Ranges the native constructors check (powers of two, batch limits) are left
 * to them; their messages name the field.
 */
const SimDaqParamsSchema = t.Object(
  {
    sampleRate: t.Optional(
      t.Number({
        minimum: 1,
        maximum: MAX_SAMPLE_RATE,
        description: `samples per second, 1–${MAX_SAMPLE_RATE}; default 100000; sampleRate / batchSize at most ${MAX_BATCH_RATE}`,
      }),
    ),
    batchSize: t.Optional(
      t.Integer({ minimum: 1, maximum: MAX_BATCH_SIZE, description: "samples per batch (per callback); default 1000" }),
    ),
    frequency: t.Optional(t.Number({ description: "Hz of the sine; default 1000" })),
    amplitude: t.Optional(t.Number({ description: "default 1" })),
    offset: t.Optional(t.Number({ description: "default 0" })),
    noise: t.Optional(t.Number({ minimum: 0, description: "standard deviation of the added noise; default 0.01" })),
    seed: t.Optional(t.Integer({ minimum: 0, description: "noise generator seed; default 1" })),
    dtype: t.Optional(
      t.Union([t.Literal("float32"), t.Literal("float64"), t.Literal("int16"), t.Literal("int32")], {
        description: 'sample type of the batches; default "float64"',
      }),
    ),
    overflow: t.Optional(
      t.Union([t.Literal("drop-newest"), t.Literal("overwrite-oldest")], {
        description: 'what happens when JS falls behind by a whole ring; default "drop-newest"',
      }),
    ),
    ringCapacity: t.Optional(
      t.Integer({
        minimum: 2,
        maximum: MAX_RING_CAPACITY,
        description:
          "ring size in samples, a power of two; default: 64 batches or 50 ms of samples, whichever is larger",
      }),
    ),
  },
  { additionalProperties: false },
);

export type SimDaqParams = StaticDecode<typeof SimDaqParamsSchema>;

export type SimDaqBatch = SampleArray;

export interface SimDaqStreamStats extends RingCounters, SyntheticSourceStats {
  /** Callback invocations that threw (the stream goes on). */
  callbackErrors: number;
}

const MAX_DEFAULT_RING = 1 << 24;

export class SimDaq {
  static params = SimDaqParamsSchema;
  /** What a client may call over HTTP (streaming has its own routes). */
  static remote = ["getStreamStats"];
  readonly deviceId: string;
  readonly sampleRate: number;
  readonly batchSize: number;
  readonly dtype: SampleDType;
  #ring: SampleRing<SampleDType>;
  #source: SyntheticSource;
  #connected = false;
  #callback: ((batch: SimDaqBatch) => void) | null = null;
  #callbackErrors = 0;

  constructor(deviceId: string, params: SimDaqParams = {}) {
    this.deviceId = deviceId;
    const fail = (message: string) =>
      new DeviceConfigurationError(`SimDaq '${deviceId}': ${message}`, { device_id: deviceId });
    // Checked here as well as by the daemon: the ring is allocated below, and a constructor called
    // directly must not allocate 2^40 samples before the source refuses its parameters.
    const problems = paramsProblems(SimDaq, params);
    if (problems.length > 0) throw fail(describeProblems(problems));
    this.sampleRate = params.sampleRate ?? 100_000;
    this.batchSize = params.batchSize ?? 1000;
    this.dtype = params.dtype ?? "float64";
    if (this.sampleRate / this.batchSize > MAX_BATCH_RATE) {
      throw fail(
        `sampleRate / batchSize must be at most ${MAX_BATCH_RATE} batches per second, got ${this.sampleRate} / ${this.batchSize}; raise batchSize to at least ${Math.ceil(this.sampleRate / MAX_BATCH_RATE)}`,
      );
    }
    const capacity =
      params.ringCapacity ??
      Math.min(MAX_DEFAULT_RING, ringCapacityFor(Math.max(64 * this.batchSize, this.sampleRate / 20)));
    // The native constructors validate every parameter; their TypeError/RangeError become the
    // device's configuration error with the offending field in the message.
    try {
      this.#ring = new SampleRing({ capacity, dtype: this.dtype, overflow: params.overflow ?? "drop-newest" });
      this.#source = new SyntheticSource(this.#ring, {
        sampleRate: this.sampleRate,
        batchSize: this.batchSize,
        frequency: params.frequency ?? 1000,
        amplitude: params.amplitude ?? 1,
        offset: params.offset ?? 0,
        noise: params.noise ?? 0.01,
        seed: params.seed ?? 1,
      });
    } catch (e) {
      throw new DeviceConfigurationError(
        `SimDaq '${deviceId}': ${(e as Error).message}`,
        { device_id: deviceId },
        {
          cause: e,
        },
      );
    }
  }

  connect(): void {
    this.#connected = true;
  }

  disconnect(): void {
    this.stopStreaming();
    this.#connected = false;
  }

  isConnected(): boolean {
    return this.#connected;
  }

  /** `cb` gets batches of up to `batchSize` samples (exactly `batchSize` unless samples were dropped). */
  startStreaming(cb: (batch: SimDaqBatch) => void): void {
    if (typeof cb !== "function") throw new TypeError("startStreaming(cb): cb must be a function");
    if (!this.#connected)
      throw new DeviceNotConnectedError(`SimDaq '${this.deviceId}' is not connected`, { device_id: this.deviceId });
    if (this.#callback)
      throw new DeviceError(`SimDaq '${this.deviceId}' is already streaming`, { device_id: this.deviceId });
    this.#callback = cb;
    try {
      this.#source.start(this.#onWake);
    } catch (e) {
      this.#callback = null;
      throw new DeviceError(
        `SimDaq '${this.deviceId}': ${(e as Error).message}`,
        { device_id: this.deviceId },
        { cause: e },
      );
    }
  }

  /**
   * Stops the acquisition thread and discards what it left in the ring; no callback runs after this
   * returns. `timeoutMs` is accepted for the device contract: the native stop is bounded by one
   * batch's generation time, far below any sensible timeout. Idempotent.
   */
  stopStreaming(_timeoutMs?: number): void {
    this.#callback = null;
    this.#source.stop();
    while (this.#ring.drain().length > 0);
  }

  isStreaming(): boolean {
    return this.#callback !== null;
  }

  /** Ring and source counters, cumulative over the device's life. */
  getStreamStats(): SimDaqStreamStats {
    return { ...this.#ring.counters(), ...this.#source.stats(), callbackErrors: this.#callbackErrors };
  }

  #sliceQueued = false;

  // A private field, not a method: it is the native source's callback, never a remote call. It only
  // schedules the delivery: work done inside the wake-up itself keeps the next wake-up coming before
  // the event loop reaches its timers, and a slow consumer would starve them.
  readonly #onWake = (): void => {
    if (this.#sliceQueued || !this.#callback) return;
    this.#sliceQueued = true;
    setImmediate(this.#deliverSlice);
  };

  readonly #deliverSlice = (): void => {
    this.#sliceQueued = false;
    // Deliver at most one slice of what has landed; a backlog continues after the event loop's next turn.
    let budget = Math.min(this.#ring.available, Math.max(WAKE_SLICE_SAMPLES, this.batchSize));
    for (let calls = 0; budget > 0 && calls < WAKE_SLICE_CALLBACKS && this.#callback; calls++) {
      const batch = this.#ring.drain(Math.min(budget, this.batchSize));
      if (batch.length === 0) break;
      budget -= batch.length;
      try {
        this.#callback(batch);
      } catch (e) {
        // A consumer's bug must not stall acquisition; the daemon's stream hub records its own errors.
        if (this.#callbackErrors++ === 0) console.error(`SimDaq '${this.deviceId}': streaming callback threw`, e);
      }
    }
    if (this.#ring.available > 0) this.#onWake();
  };
}
