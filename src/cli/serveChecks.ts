// What serve refuses before it starts anything, in one place: serve checks it at start, and `service
// install` checks it before it writes a unit, so a service is never installed only to fail at every start.
import { isLoopbackAddress } from "../server/middleware/hostCheck.ts";
import type { LoadedConfig } from "./config.ts";
import { createLab } from "./lab.ts";

/** Where serve listens unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";

/** A lab built only to be checked has nothing connected: its shutdown is quick. */
const CHECK_SHUTDOWN_MS = 1000;

/**
 * Why serve refuses to listen on `host`, or null. A server on the network without a token lets anyone who
 * reaches it drive the instruments, unless the user says --insecure; `from` names where the host came from.
 */
export function openServerRefusal(
  host: string,
  token: string | undefined,
  insecure: boolean,
  from: "--host" | "the configuration's host",
): string | null {
  if (token || insecure || isLoopbackAddress(host)) return null;
  return `refusing to listen on ${host} (${from}) without a token: anyone on the network could drive the instruments`;
}

/**
 * The configuration's lab built as serve builds it, but nothing connected, then shut down: an unknown
 * device or task type, a plugin that clashes, parameters a driver refuses are serve's ConfigError here.
 */
export async function checkLab(loaded: LoadedConfig): Promise<void> {
  const lab = await createLab(loaded);
  await lab.shutdown(CHECK_SHUTDOWN_MS);
}
