// A listening port someone else holds: one line naming the port and address, exit status 1.

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/** Whether a listen failed because the address is taken (Bun's errors carry `code`, some only the words). */
export function isAddressInUse(e: unknown): e is Error & { code?: string; port?: number; address?: string } {
  const err = e as { code?: string; message?: string } | null;
  return err?.code === "EADDRINUSE" || /in use|EADDRINUSE/i.test(err?.message ?? "");
}

/**
 * Binds `host:port` for a moment and lets go, so what listening there would fail with (the port taken, an
 * address this machine does not have) is known before anything is started. Port 0 always finds one.
 */
export function probeListen(host: string, port: number): void {
  if (port === 0) return;
  // Bun.listen wants an IPv6 address without its brackets (Bun.serve takes either).
  Bun.listen({ hostname: host.replace(/^\[(.*)\]$/, "$1"), port, socket: { data() {} } }).stop(true);
}
