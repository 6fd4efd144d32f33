// A listening port someone else holds: one line naming the port and address, exit status 1.

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/** Whether a listen failed because the address is taken (Bun's errors carry `code`, some only the words). */
export function isAddressInUse(e: unknown): e is Error & { code?: string; port?: number; address?: string } {
  const err = e as { code?: string; message?: string } | null;
  return err?.code === "EADDRINUSE" || /in use|EADDRINUSE/i.test(err?.message ?? "");
}
