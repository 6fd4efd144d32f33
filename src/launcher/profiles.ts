// The profiles of a lab configuration file, read with the very parser `serve` uses, so what the launcher
// lists (and accepts on save) is exactly what a server started from it will accept.
import { loadConfigFile, loadProfiles, type LabConfig } from "../cli/config.ts";

/** The name a file without a `configs` section gets (it is started without --profile). */
export const SINGLE_PROFILE = "default";

export interface ProfileInfo {
  name: string;
  /** What `serve --profile` gets; null for a file holding one configuration. */
  selector: string | null;
  description: string;
  host: string;
  port: number;
  devices: string[];
  hasToken: boolean;
  /** Changes whenever the profile's effective configuration does: a running server then needs a restart. */
  fingerprint: string;
}

/**
 * Every profile of `file`, each validated as `serve --profile NAME` would; the first problem is thrown.
 * A TypeScript file's loading is bounded as serve bounds it (`timeoutMs` shortens it, for tests).
 */
export async function readProfiles(file: string, opts: { timeoutMs?: number } = {}): Promise<ProfileInfo[]> {
  const profiles = await loadProfiles(file, opts);
  if (profiles.length === 0) await loadConfigFile(file); // an empty `configs` gets serve's own message
  return profiles.map((p) => info(p.profile ?? SINGLE_PROFILE, p.profile, p.config));
}

function info(name: string, selector: string | null, c: LabConfig): ProfileInfo {
  return {
    name,
    selector,
    description: c.description ?? c.name ?? "",
    host: c.host ?? "127.0.0.1",
    port: c.port ?? 5000,
    devices: Object.keys(c.devices),
    hasToken: c.token !== undefined,
    fingerprint: JSON.stringify(c, (_k, v) => (typeof v === "function" ? String(v) : v)),
  };
}
