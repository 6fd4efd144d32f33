// A native acquisition loop on an open instrument: repeat a query at an interval, decode the answer
// (ASCII numbers or an IEEE 488.2 block) and push the samples into a SampleRing without JS per sample.
// JS hears about it once per batch (coalesced) through `onSamples`, and once when the loop ends.
import { native } from "./native.ts";
import { toDeviceError } from "./ioErrors.ts";
import type { SampleDType, SampleRing } from "./sampleRing.ts";
import type { LeasingInstrument, NativeLease } from "./session.ts";

export type WireFormat = "ascii" | "int16" | "float32" | "float64";

export interface AcquisitionOptions {
  /** The query, e.g. "FETC?" (the instrument's writeTermination is appended). */
  command: string;
  ring: SampleRing<SampleDType>;
  /** How the answer is encoded: ASCII comma-separated (default) or a block of these values. An answer
   * longer than the instrument's maxReadBytes (a block header announcing more) stops the loop. */
  format?: WireFormat;
  /** Byte order of block data. */
  bigEndian?: boolean;
  /** Time between the starts of two exchanges; 0 (default) runs them back to back. At most 24 h
   * (86,400,000); NaN, Infinity or a negative value is a RangeError from startAcquisition. */
  intervalMs?: number;
  /** Per exchange; a slower instrument stops the loop with DeviceTimeoutError. Default: the instrument's.
   * Above 0 and at most 24 h, else a RangeError from startAcquisition. */
  timeoutMs?: number;
  /** Stop after this many exchanges (default: until stop()). */
  maxExchanges?: number;
  /** After batches land in the ring (at most one call pending at a time). */
  onSamples?: () => void;
}

export interface AcquisitionStats {
  running: boolean;
  exchanges: number;
  /** Samples decoded; `pushed` is what the ring accepted (the rest counts as dropped there). */
  samples: number;
  pushed: number;
  error: Error | null;
}

interface NativeAcquisition {
  start(onWake: () => void): void;
  stop(): Promise<void>;
  stats(): { running: boolean; exchanges: number; samples: number; pushed: number; error: Error | null };
}

export class Acquisition {
  readonly resource: string;
  /** Settles when the loop has ended, by stop() (null) or by an instrument error. */
  readonly ended: Promise<Error | null>;
  #native: NativeAcquisition;
  #stopping: Promise<void> | null = null;
  #lease: NativeLease;

  /** Use `MessageInstrument.startAcquisition()`. */
  constructor(instrument: LeasingInstrument, options: AcquisitionOptions) {
    this.resource = instrument.resource;
    this.#lease = instrument.leaseNativeSession();
    try {
      this.#native = this.#begin(instrument, options);
    } catch (e) {
      this.#lease.release();
      throw e;
    }
    let settle!: (e: Error | null) => void;
    this.ended = new Promise((resolve) => (settle = resolve));
    const onSamples = options.onSamples;
    try {
      this.#native.start(() => {
        const s = this.#native.stats();
        try {
          if (s.exchanges > 0 || s.samples > 0) onSamples?.();
        } catch (e) {
          // The caller's bug: reported, and the acquisition still ends (and gives the session back).
          console.error(`labdaemon: onSamples of the acquisition on ${this.resource} threw:`, e);
        }
        if (!s.running) {
          void this.stop().then(() => settle(s.error ? toDeviceError(s.error, this.resource) : null));
        }
      });
    } catch (e) {
      this.#lease.release();
      throw e;
    }
  }

  #begin(instrument: LeasingInstrument, options: AcquisitionOptions): NativeAcquisition {
    return new native.NativeAcquisition(this.#lease.session, options.ring.handle, {
      command: options.command + instrument.writeTermination,
      readTermination: instrument.readTermination,
      format: options.format ?? "ascii",
      bigEndian: options.bigEndian ?? false,
      intervalMs: options.intervalMs ?? 0,
      timeoutMs: options.timeoutMs ?? instrument.timeoutMs,
      maxExchanges: options.maxExchanges ?? 0,
      maxReadBytes: instrument.maxReadBytes,
    }) as NativeAcquisition;
  }

  stats(): AcquisitionStats {
    const s = this.#native.stats();
    return { ...s, error: s.error ? toDeviceError(s.error, this.resource) : null };
  }

  /** Ends the loop after the exchange in flight; resolves when no sample or wake-up can follow. */
  stop(): Promise<void> {
    // The instrument gets its session back once no sample or wake-up can follow.
    this.#stopping ??= this.#native.stop().finally(() => this.#lease.release());
    return this.#stopping;
  }
}
