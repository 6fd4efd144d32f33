// SampleRing: the JS (consumer) face of the native lock-free SPSC ring. A native producer (a
// SyntheticSource, an acquisition thread) fills it; JS drains it on a wake-up or by polling.
import { native } from "./native.ts";

export type SampleDType = "float32" | "float64" | "int16" | "int32";
export type OverflowPolicy = "drop-newest" | "overwrite-oldest";

export interface SampleArrays {
  float32: Float32Array;
  float64: Float64Array;
  int16: Int16Array;
  int32: Int32Array;
}
export type SampleArray = SampleArrays[SampleDType];

export interface RingCounters {
  /** Samples offered by the producer. */
  written: number;
  /** Samples handed to JS. */
  read: number;
  /** Samples lost to the overflow policy; written === read + dropped + available once quiet. */
  dropped: number;
  /** The largest fill the consumer has seen. */
  highWater: number;
  available: number;
  capacity: number;
}

export interface SampleRingOptions<D extends SampleDType> {
  /** A power of two between 2 and 2^31 (RangeError otherwise). */
  capacity: number;
  dtype?: D;
  /** Default "drop-newest": a full ring refuses new samples and counts them. */
  overflow?: OverflowPolicy;
}

/** The native class behind SampleRing (also accepted by SyntheticSource). */
export interface NativeSampleRing {
  drain(max?: number): SampleArray;
  drainInto(target: SampleArray): number;
  push(samples: SampleArray): number;
  counters(): RingCounters;
  readonly available: number;
  readonly capacity: number;
  readonly dtype: SampleDType;
  readonly overflow: OverflowPolicy;
}

export const SAMPLE_DTYPES: readonly SampleDType[] = ["float32", "float64", "int16", "int32"];

/** The smallest power of two >= n (and >= 2), for callers sizing a ring from a batch size. */
export function ringCapacityFor(n: number): number {
  let c = 2;
  while (c < n) c *= 2;
  return c;
}

export class SampleRing<D extends SampleDType = "float64"> {
  /** @internal The native ring, handed to native producers. */
  readonly handle: NativeSampleRing;

  constructor(opts: SampleRingOptions<D>) {
    this.handle = new native.SampleRing(opts.capacity, opts.dtype ?? "float64", opts.overflow ?? "drop-newest");
  }

  get capacity(): number {
    return this.handle.capacity;
  }
  get dtype(): D {
    return this.handle.dtype as D;
  }
  get overflow(): OverflowPolicy {
    return this.handle.overflow;
  }
  /** Samples ready to drain now. */
  get available(): number {
    return this.handle.available;
  }

  /** Up to `max` samples (all available when omitted), oldest first, in a new typed array (one copy). */
  drain(max?: number): SampleArrays[D] {
    return this.handle.drain(max) as SampleArrays[D];
  }

  /** Fills `target` from its start without allocating; returns how many samples were written. */
  drainInto(target: SampleArrays[D]): number {
    return this.handle.drainInto(target);
  }

  /**
   * JS as the producer (tests, replays): stores what the overflow policy allows and returns the count.
   * Throws while a native producer is attached.
   */
  push(samples: SampleArrays[D]): number {
    return this.handle.push(samples);
  }

  counters(): RingCounters {
    return this.handle.counters();
  }
  get written(): number {
    return this.counters().written;
  }
  get read(): number {
    return this.counters().read;
  }
  get dropped(): number {
    return this.counters().dropped;
  }
  get highWater(): number {
    return this.counters().highWater;
  }
}
