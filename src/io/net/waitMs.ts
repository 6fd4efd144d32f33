// The addon's rule for a timeout or interval (native/io/io_error.cc waitMsError), for the transports
// that run in JS: a finite number of milliseconds above 0 and at most a day, else a RangeError naming it.
export const MAX_WAIT_MS = 24 * 3600 * 1000;

export function checkWaitMs(what: string, ms: unknown): RangeError | TypeError | null {
  if (typeof ms !== "number") return new TypeError(`${what} must be a number`);
  if (Number.isFinite(ms) && ms > 0 && ms <= MAX_WAIT_MS) return null;
  return new RangeError(`${what} must be a finite number of milliseconds above 0 up to 86400000 (24 h), got ${ms}`);
}
