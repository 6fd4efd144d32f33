// One way to bound a wait: every timeout in the daemon and the server goes through here.

/** Resolves true when `p` settles (either way), false when `ms` pass first; never rejects; leaves no timer. */
export async function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`'s own outcome, or the error `timedOut()` makes once `ms` pass first; leaves no timer either way. */
export async function settleWithin<T>(p: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
