// An instrument's service requests (SRQ): the handlers waiting for them, and asking the session, once,
// to deliver them with the status byte (HiSLIP's asynchronous channel, VXI-11's interrupt channel, GPIB's
// RQS polled on the session's thread).
import { DeviceNotConnectedError, DeviceTimeoutError } from "../core/errors.ts";
import type { HandOverSession, NativeSession, ServiceRequestHandler } from "./session.ts";
import { pollServiceRequests } from "./srqPoll.ts";

export class ServiceRequests {
  readonly #handlers = new Set<ServiceRequestHandler>();
  #enabled: Promise<void> | null = null;

  /** `session` is the instrument's own (null once closed); `timeoutMs` its current default. */
  constructor(
    private readonly resource: string,
    private readonly session: () => NativeSession | null,
    private readonly timeoutMs: () => number,
  ) {}

  /** See MessageInstrument.onServiceRequest. */
  async add(handler: ServiceRequestHandler): Promise<() => void> {
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
  wait(ms: number): Promise<number | null> {
    if (!(typeof ms === "number" && ms > 0 && ms <= 86_400_000)) {
      return Promise.reject(
        new RangeError(`timeoutMs must be a finite number of milliseconds above 0 up to 86400000 (24 h), got ${ms}`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<number | null>();
    const handler = (stb: number | null): void => {
      clearTimeout(timer);
      this.#handlers.delete(handler);
      resolve(stb);
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
    // The session first: a closed instrument refuses even when requests were enabled before it closed.
    const s = this.session();
    if (!s)
      return Promise.reject(new DeviceNotConnectedError(`${this.resource} is closed`, { resource: this.resource }));
    if (this.#enabled) return this.#enabled;
    const deliver = (stb: number | null): void => {
      // One handler's bug must not keep the request from the others, nor reach the transport's callback.
      for (const h of [...this.#handlers]) {
        try {
          h(stb);
        } catch (e) {
          console.error(`labdaemon: a service request handler of ${this.resource} threw:`, e);
        }
      }
    };
    const enable = (s as Partial<HandOverSession>).enableServiceRequests;
    // Native sessions (GPIB) are polled for RQS; the addon refuses interfaces without service requests.
    const enabled = enable
      ? enable.call(s, deliver, this.timeoutMs())
      : pollServiceRequests(s, deliver, () => this.session() === s, this.timeoutMs());
    this.#enabled = enabled;
    enabled.catch(() => {
      if (this.#enabled === enabled) this.#enabled = null;
    });
    return enabled;
  }
}
