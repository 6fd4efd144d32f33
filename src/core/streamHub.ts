// One device stream fanned out to any number of subscribers (local callbacks and SSE clients alike).
// The device's callback is wired once; subscribers come and go without re-wiring it.
import { withDeadline } from "./deadline.ts";
import { DeviceError } from "./errors.ts";

/** How long a stop without a bound of its own waits for a start still under way. */
const STOP_WAIT_MS = 2000;

export interface StreamInfo {
  deviceId: string;
  /** Per device stream, monotonic from 1; restarts never reuse a number. */
  sequence: number;
  /** ms since the epoch, when the device delivered the payload. */
  time: number;
}

export type StreamCallback = (payload: unknown, info: StreamInfo) => void;

export interface StreamEnd {
  type: string;
  message: string;
}

export interface SubscribeOptions {
  /** Called once when the stream ends under the subscriber (stop, removal, failure, shutdown). */
  onEnd?: (reason: StreamEnd) => void;
}

export interface Subscription {
  readonly id: number;
  readonly deviceId: string;
  /** Leaves the stream; the last subscriber out stops a stream that subscribers started. */
  unsubscribe(): Promise<void>;
}

interface Subscriber {
  id: number;
  cb: StreamCallback;
  onEnd?: (reason: StreamEnd) => void;
}

/** How the hub reaches the device (the daemon supplies these, queued and bounded). */
export interface StreamDriver {
  start(deliver: (payload: unknown) => void): Promise<void>;
  stop(timeoutMs?: number): Promise<void>;
  onCallbackError(error: unknown, subscriberId: number): void;
}

export class StreamHub {
  private subscribers = new Map<number, Subscriber>();
  /** See every payload, never start or keep the stream (observe()). */
  private observers = new Set<StreamCallback>();
  private nextId = 1;
  private sequence = 0;
  /** "local": started by code that must stop it explicitly; "subscribers": stops when they leave. */
  private owner: "local" | "subscribers" | null = null;
  private starting: Promise<void> | null = null;
  private generation = 0;

  constructor(
    readonly deviceId: string,
    private readonly driver: StreamDriver,
  ) {}

  get streaming(): boolean {
    return this.owner !== null;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  get lastSequence(): number {
    return this.sequence;
  }

  get startedBy(): "local" | "subscribers" | null {
    return this.owner;
  }

  /** Adds a subscriber; starts the device if it is not streaming. `local` marks an explicit start. */
  async subscribe(cb: StreamCallback, opts: SubscribeOptions & { local?: boolean } = {}): Promise<Subscription> {
    const sub: Subscriber = { id: this.nextId++, cb, onEnd: opts.onEnd };
    this.subscribers.set(sub.id, sub);
    try {
      await this.ensureStarted(opts.local ? "local" : "subscribers");
    } catch (e) {
      this.subscribers.delete(sub.id);
      throw e;
    }
    return {
      id: sub.id,
      deviceId: this.deviceId,
      unsubscribe: () => this.unsubscribe(sub.id),
    };
  }

  /**
   * Sees every payload while the device streams, whoever started it, without starting it or keeping it
   * alive (a bridge publishing samples must not stop the last subscriber's leaving from stopping the
   * device). Returns the function that stops observing.
   */
  observe(cb: StreamCallback): () => void {
    this.observers.add(cb);
    return () => void this.observers.delete(cb);
  }

  async unsubscribe(id: number): Promise<void> {
    if (!this.subscribers.delete(id)) return;
    if (this.subscribers.size === 0 && this.owner === "subscribers") {
      await this.stop({ type: "StreamStopped", message: "last subscriber left" });
    }
  }

  /**
   * Stops the device stream and ends every subscriber with `reason`. Idempotent. `admit`, when given, is
   * asked again right before anything changes and may refuse by throwing.
   */
  async stop(
    reason: StreamEnd = { type: "StreamStopped", message: "stream stopped" },
    timeoutMs?: number,
    admit?: () => void,
  ): Promise<void> {
    // A start still under way is waited for within the stop's own bound; one that is later than that is
    // abandoned (ensureStarted stops the device if it ever comes up), so a stop never hangs on it.
    if (this.starting)
      await withDeadline(
        this.starting.catch(() => {}),
        timeoutMs ?? STOP_WAIT_MS,
      );
    admit?.();
    const wasStreaming = this.owner !== null;
    this.owner = null;
    this.generation++;
    const subs = [...this.subscribers.values()];
    this.subscribers.clear();
    for (const s of subs) this.endSubscriber(s, reason);
    if (wasStreaming) await this.driver.stop(timeoutMs);
  }

  /** Ends subscribers without touching the device (it stopped or failed on its own). */
  ended(reason: StreamEnd): void {
    this.owner = null;
    this.generation++;
    const subs = [...this.subscribers.values()];
    this.subscribers.clear();
    for (const s of subs) this.endSubscriber(s, reason);
  }

  private endSubscriber(s: Subscriber, reason: StreamEnd): void {
    try {
      s.onEnd?.(reason);
    } catch (e) {
      this.driver.onCallbackError(e, s.id);
    }
  }

  private async ensureStarted(owner: "local" | "subscribers"): Promise<void> {
    if (this.starting) await this.starting;
    if (this.owner !== null) {
      if (owner === "local") this.owner = "local";
      return;
    }
    const gen = ++this.generation;
    this.starting = this.driver.start((payload) => {
      if (gen === this.generation) this.deliver(payload);
    });
    try {
      await this.starting;
      if (gen !== this.generation) {
        // A stop gave up waiting for this start: the device came up for nobody.
        void this.driver.stop().catch(() => {});
        throw new DeviceError(`stream of device '${this.deviceId}' was stopped while it was starting`, {
          device_id: this.deviceId,
        });
      }
      this.owner = owner;
    } finally {
      this.starting = null;
    }
  }

  private deliver(payload: unknown): void {
    const info: StreamInfo = { deviceId: this.deviceId, sequence: ++this.sequence, time: Date.now() };
    for (const s of this.subscribers.values()) {
      try {
        s.cb(payload, info);
      } catch (e) {
        this.driver.onCallbackError(e, s.id);
      }
    }
    for (const cb of this.observers) {
      try {
        cb(payload, info);
      } catch (e) {
        this.driver.onCallbackError(e, 0);
      }
    }
  }
}
