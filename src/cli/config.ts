// Lab configuration files: JSON / YAML / TypeScript files read into a checked configuration, one file
// holding several named profiles, and errors that point at the file and line at fault. The shape itself is
// configSchema.ts; discovery, file text and TypeScript modules each have their own file.
import { extname } from "node:path";
import { parseDataFile } from "../files/dataFile.ts";
import { ConfigError, type ConfigPath, failAt, fmtPath } from "./configError.ts";
import { CONFIG_IMPORT_TIMEOUT_MS, type RawConfig, readModuleConfig } from "./configModule.ts";
import { isObject, selectProfile } from "./configProfile.ts";
import type { LabConfig } from "./configSchema.ts";
import { readText } from "./configText.ts";

export { LOG_LEVELS, type LogLevel } from "../log/levels.ts";
export { ConfigError, type ConfigPath } from "./configError.ts";
export { CONFIG_IMPORT_TIMEOUT_MS, describeImportError } from "./configModule.ts";
export {
  CONFIG_BASENAME,
  type Discovery,
  discoverConfig,
  searchedPlaces,
  userConfigFolder,
  type UserFolder,
} from "./configDiscovery.ts";
export { type DeviceConfig, type LabConfig, ORIGIN } from "./configSchema.ts";
export { MAX_CONFIG_BYTES } from "./configText.ts";

export interface LoadedConfig {
  /** Absolute path, or "(built-in simulated lab)". */
  file: string;
  profile: string | null;
  config: LabConfig;
  /** "file:line:column" of a value in the file, as precisely as the format allows. */
  where(path: ConfigPath): string;
}

/**
 * Reads a configuration file and picks the profile (`--profile`) when it holds several. `timeoutMs`
 * bounds a TypeScript config's loading.
 */
export async function loadConfigFile(
  file: string,
  profile?: string,
  opts: { timeoutMs?: number } = {},
): Promise<LoadedConfig> {
  const ext = extname(file).toLowerCase();
  if (ext === ".ts" || ext === ".js" || ext === ".mjs")
    return loadModuleConfig(file, profile, opts.timeoutMs ?? CONFIG_IMPORT_TIMEOUT_MS);
  if (ext === ".json" || ext === ".yaml" || ext === ".yml") return loadDataConfig(file, profile);
  throw new ConfigError(`${file}: unsupported config format '${ext || "(no extension)"}' (use .ts, .json or .yaml)`);
}

/** A configuration given as an object (the built-in simulated lab, tests); it may hold code like a .ts one. */
export function fromObject(raw: unknown, label: string, profile?: string): LoadedConfig {
  const { config, profile: chosen } = selectProfile(
    raw,
    profile,
    failAt(() => label),
    true,
  );
  return { file: label, profile: chosen, config, where: () => label };
}

// ---------------------------------------------------------------- JSON and YAML

function loadDataConfig(file: string, profile?: string): LoadedConfig {
  const { raw, where, fail } = readDataConfig(file);
  const { config, profile: chosen } = selectProfile(raw, profile, fail);
  return { file, profile: chosen, config, where };
}

/** A JSON or YAML text parsed with positions: `where` gives "file:line:column" of a path. */
export function parseDataConfig(file: string, text: string): Pick<RawConfig, "raw" | "where"> {
  const { raw, position } = parseDataFile(file, text, (message) => new ConfigError(message));
  return { raw, where: (path: ConfigPath) => `${file}${position(path)}` };
}

/** A JSON or YAML file's content, parsed with positions; a `__proto__` key anywhere is refused. */
function readDataConfig(file: string): RawConfig {
  const { raw, where } = parseDataConfig(file, readText(file));
  const proto = protoKeyPath(raw);
  if (proto) throw new ConfigError(`${where(proto)}: ${fmtPath(proto)}: ${PROTO_MESSAGE}`);
  return { raw, where, fail: failAt(where), isModule: false };
}

export interface ProfileSummary {
  /** The profile's key in `configs`; null for a file holding one configuration. */
  profile: string | null;
  isDefault: boolean;
  config: LabConfig;
}

/** Every configuration a file holds, each checked as `serve` would check it, in the file's order. */
export async function loadProfiles(file: string, opts: { timeoutMs?: number } = {}): Promise<ProfileSummary[]> {
  const ext = extname(file).toLowerCase();
  let rc: RawConfig;
  if (ext === ".ts" || ext === ".js" || ext === ".mjs")
    rc = await readModuleConfig(file, opts.timeoutMs ?? CONFIG_IMPORT_TIMEOUT_MS);
  else if (ext === ".json" || ext === ".yaml" || ext === ".yml") rc = readDataConfig(file);
  else
    throw new ConfigError(`${file}: unsupported config format '${ext || "(no extension)"}' (use .ts, .json or .yaml)`);
  if (!isObject(rc.raw) || !("configs" in rc.raw)) {
    return [{ profile: null, isDefault: true, config: selectProfile(rc.raw, undefined, rc.fail, rc.isModule).config }];
  }
  const names = isObject(rc.raw.configs) ? Object.keys(rc.raw.configs) : [];
  // Checks the file's shape and picks the default, if any (a file with several and none is fine here).
  const chosen =
    names.length > 1 && rc.raw.default === undefined
      ? null
      : selectProfile(rc.raw, undefined, rc.fail, rc.isModule).profile;
  return names.map((name) => ({
    profile: name,
    isDefault: name === chosen,
    config: selectProfile(rc.raw, name, rc.fail, rc.isModule).config,
  }));
}

/** Said of a `__proto__` key, after its path. */
export const PROTO_MESSAGE = "'__proto__' is not allowed as a key";

/**
 * Where the first `__proto__` key is, if any. The parser keeps it as a plain own key, but copied by
 * assignment (`devices[id] = …`, `Object.assign(defaults, params)`) it replaces the target's prototype.
 */
export function protoKeyPath(
  v: unknown,
  path: Array<string | number> = [],
  seen = new Set<object>(),
): ConfigPath | null {
  if (typeof v !== "object" || v === null || seen.has(v)) return null;
  seen.add(v); // YAML aliases may make the tree a graph
  const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  for (const [k, x] of entries) {
    if (k === "__proto__") return [...path, k];
    const found = protoKeyPath(x, [...path, k], seen);
    if (found) return found;
  }
  return null;
}

async function loadModuleConfig(file: string, profile: string | undefined, timeoutMs: number): Promise<LoadedConfig> {
  const { raw, where, fail } = await readModuleConfig(file, timeoutMs);
  const { config, profile: chosen } = selectProfile(raw, profile, fail, true);
  return { file, profile: chosen, config, where };
}
