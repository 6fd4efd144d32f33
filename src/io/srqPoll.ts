// Service requests of a native session (GPIB through linux-gpib): a quick check on the session's own
// thread every few milliseconds (ibwait for RQS without waiting, then ibrsp for the status byte), so a
// request never waits behind a blocking wait for SRQ and the requests stay in their order.
import { DeviceConfigurationError } from "../core/errors.ts";

/** What the poller needs of the addon's NativeSession. */
export interface PolledSession {
  readonly resource: string;
  readonly interfaceType: string;
  /** The status byte when the device requests service, -1 when it does not (addon). */
  pollServiceRequest?(timeoutMs: number): Promise<number>;
}

/** Between two checks: the delay an SRQ may wait before its handlers run. */
export const SRQ_POLL_MS = 20;

/**
 * Checks once (so an interface without service requests is refused at once), then keeps checking while
 * `live()` holds, calling `deliver` with each request's status byte. The timer never keeps the process alive.
 */
export async function pollServiceRequests(
  s: PolledSession,
  deliver: (statusByte: number) => void,
  live: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const poll = s.pollServiceRequest;
  if (!poll) {
    throw new DeviceConfigurationError(`${s.resource}: this resource has no service requests`, {
      resource: s.resource,
    });
  }
  const first = await poll.call(s, timeoutMs);
  if (first >= 0) deliver(first);
  const tick = async (): Promise<void> => {
    if (!live()) return;
    try {
      const stb = await poll.call(s, timeoutMs);
      if (stb >= 0 && live()) deliver(stb);
    } catch {
      // A check that failed (the bus busy past its timeout, a board gone) is retried at the next tick;
      // the requests made meanwhile report the trouble themselves.
    }
    schedule();
  };
  const schedule = (): void => {
    if (live()) setTimeout(tick, SRQ_POLL_MS).unref();
  };
  schedule();
}
