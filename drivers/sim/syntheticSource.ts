// SyntheticSource: a native thread playing a simulated ADC (sine + noise) into a SampleRing, paced by
// the clock, waking JS once per batch (coalesced: never more than one wake-up pending). Its C++ half is
// native/sim/; SimDaq and the ring benchmark are its users.
import { native } from "../../src/io/native.ts";
import type { SampleDType, SampleRing } from "../../src/io/sampleRing.ts";

export interface SyntheticSourceParams {
  /** Samples per second (pacing and the sine's phase step). Default 1e6. */
  sampleRate?: number;
  /** Samples per wake-up, up to 16777216; pushed into the ring 65536 at a time at most. Default 1024. */
  batchSize?: number;
  /** Hz. Default 1000. */
  frequency?: number;
  /** Default 1. */
  amplitude?: number;
  /** Default 0. */
  offset?: number;
  /** Standard deviation of the added noise. Default 0. */
  noise?: number;
  /** Noise generator seed. Default 1. */
  seed?: number;
  /** false: produce as fast as the consumer drains, waiting instead of dropping (benchmarks). Default true. */
  paced?: boolean;
}

export interface SyntheticSourceStats {
  /** Samples pushed so far (a slice at a time); `batches` counts only whole batches. */
  generated: number;
  batches: number;
  /** Times the machine fell more than 250 ms behind the clock and pacing resynced. */
  lagResyncs: number;
}

interface NativeSyntheticSource {
  start(onWake: () => void): void;
  stop(): void;
  stats(): SyntheticSourceStats;
  readonly running: boolean;
}

export class SyntheticSource {
  private readonly source: NativeSyntheticSource;

  /** Throws TypeError / RangeError for bad parameters. */
  constructor(ring: SampleRing<SampleDType>, params: SyntheticSourceParams = {}) {
    this.source = new native.SyntheticSource(ring.handle, params);
  }

  /**
   * Starts the thread. `onWake` runs on the JS thread after one or more batches landed; drain the
   * ring there. While running, the source keeps the process alive, as a timer does.
   * Throws when already running or when the ring already has a producer.
   */
  start(onWake: () => void): void {
    this.source.start(onWake);
  }

  /** Joins the thread; no `onWake` call happens after it returns. Idempotent. */
  stop(): void {
    this.source.stop();
  }

  get running(): boolean {
    return this.source.running;
  }

  stats(): SyntheticSourceStats {
    return this.source.stats();
  }
}
