// The profiles of a lab configuration file, read with the very parser `serve` uses, so what the launcher
// lists (and accepts on save) is exactly what a server started from it will accept.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, describeImportError, loadConfigFile, type LabConfig } from "../cli/config.ts";
import { parseDataFile } from "../cli/dataFile.ts";
import { registerLabdaemonModule } from "../cli/userModules.ts";

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The file's top-level value, without validating it (that is loadConfigFile's job). */
async function rawConfig(file: string): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  if (ext === ".json" || ext === ".yaml" || ext === ".yml") {
    return parseDataFile(file, readFileSync(file, "utf8"), (m) => new ConfigError(m)).raw;
  }
  if (ext === ".ts" || ext === ".js" || ext === ".mjs") {
    registerLabdaemonModule();
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (e) {
      throw new ConfigError(describeImportError(e, file));
    }
    return mod.default ?? (mod.configs ? { configs: mod.configs } : undefined);
  }
  throw new ConfigError(`${file}: unsupported config format '${ext || "(no extension)"}' (use .ts, .json or .yaml)`);
}

/** Every profile of `file`, each validated as `serve --profile NAME` would; the first problem is thrown. */
export async function readProfiles(file: string): Promise<ProfileInfo[]> {
  const raw = await rawConfig(file);
  const names = isObject(raw) && isObject(raw.configs) ? Object.keys(raw.configs) : null;
  if (names === null) return [info(SINGLE_PROFILE, null, (await loadConfigFile(file)).config)];
  const out: ProfileInfo[] = [];
  for (const name of names) out.push(info(name, name, (await loadConfigFile(file, name)).config));
  if (out.length === 0) await loadConfigFile(file); // an empty `configs` gets serve's own message
  return out;
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
