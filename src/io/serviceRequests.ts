// An instrument's service requests (SRQ): the handlers waiting for them, and asking the session, once,
// to deliver them (HiSLIP's asynchronous channel, VXI-11's interrupt channel).
import { DeviceConfigurationError, DeviceNotConnectedError, DeviceTimeoutError } from "../core/errors.ts";
import type { HandOverSession, NativeSession } from "./session.ts";

export class ServiceRequests {
  readonly #handlers = new Set<() => void>();
  #enabled: Promise<void> | null = null;

  /** `session` is the instrument's own (null once closed); `timeoutMs` its current default. */
  constructor(
    private readonly resource: string,
    private readonly session: () => NativeSession | null,
    private readonly timeoutMs: () => number,
  ) {}

  /** See MessageInstrument.onServiceRequest. */
  async add(handler: () => void): Promise<() => void> {
    this.#handlers.add(handler);
    try {
      await this.#enable();
    } catch (e) {
      this.#handlers.delete(handler);
      throw e;
    }
    return () => void this.#handlers.delete(handler);
  }

  /** See MessageInstrument.waitForServiceRequest. */
  wait(ms: number): Promise<void> {
    if (!(typeof ms === "number" && ms > 0 && ms <= 86_400_000)) {
      return Promise.reject(
        new RangeError(`timeoutMs must be a finite number of milliseconds above 0 up to 86400000 (24 h), got ${ms}`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const handler = (): void => {
      clearTimeout(timer);
      this.#handlers.delete(handler);
      resolve();
    };
    const timer = setTimeout(() => {
      this.#handlers.delete(handler);
      reject(
        new DeviceTimeoutError(`${this.resource}: no service request within ${ms} ms`, {
          resource: this.resource,
          code: 110,
          codeName: "ETIMEDOUT",
        }),
      );
    }, ms);
    this.#handlers.add(handler);
    this.#enable().catch((e) => {
      clearTimeout(timer);
      this.#handlers.delete(handler);
      reject(e);
    });
    return promise;
  }

  #enable(): Promise<void> {
    if (this.#enabled) return this.#enabled;
    const s = this.session();
    if (!s)
      return Promise.reject(new DeviceNotConnectedError(`${this.resource} is closed`, { resource: this.resource }));
    const enable = (s as Partial<HandOverSession>).enableServiceRequests;
    if (!enable) {
      return Promise.reject(
        new DeviceConfigurationError(
          `${this.resource}: service requests are available on HiSLIP and VXI-11 resources only`,
          { resource: this.resource },
        ),
      );
    }
    const enabled = enable.call(
      s,
      () => {
        for (const h of [...this.#handlers]) h();
      },
      this.timeoutMs(),
    );
    this.#enabled = enabled;
    enabled.catch(() => {
      if (this.#enabled === enabled) this.#enabled = null;
    });
    return enabled;
  }
}
