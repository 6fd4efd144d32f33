// The errors a TcpLink raises: errno numbers as the native transports report them, and the OS's words.
import { getSystemErrorMessage } from "node:util";
import { NetIoError } from "../ioErrors.ts";

export const ETIMEDOUT = 110,
  ECONNRESET = 104,
  ENOTCONN = 107,
  EPIPE = 32,
  ECANCELED = 125;

// The OS's words for an errno ("Connection refused"), as the native transports report it; bun's own
// message ("Failed to connect") does not say why.
export function osMessage(err: Error & { errno?: number; code?: string }): string {
  // A name the resolver could not find carries the resolver's code, not an errno ("4" is not EINTR here).
  if (err.code === "ENOTFOUND" || err.code?.startsWith("EAI_")) return "cannot resolve the host name";
  if (typeof err.errno !== "number") return err.message;
  try {
    const text = getSystemErrorMessage(-Math.abs(err.errno));
    return text ? text[0]!.toUpperCase() + text.slice(1) : err.message;
  } catch {
    return err.message;
  }
}

export function timeoutError(what: string): NetIoError {
  return new NetIoError("timeout", `${what}: timed out`, ETIMEDOUT, "ETIMEDOUT");
}
