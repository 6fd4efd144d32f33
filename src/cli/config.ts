// Lab configuration files: where they are found, how JSON / YAML / TypeScript files are read, one file
// holding several named profiles, and errors that point at the file and line at fault.
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { settleWithin } from "../core/deadline.ts";
import { isMs, MS_RANGE } from "./args.ts";
import type { DeviceClass, LabDaemon, TaskClass } from "../index.ts";
import { parseDataFile } from "../files/dataFile.ts";
import { lineColumn } from "../files/jsonSyntax.ts";
import { registerLabdaemonModule } from "./userModules.ts";

import { LOG_LEVELS, type LogLevel } from "../log/levels.ts";
export { LOG_LEVELS, type LogLevel };

export interface DeviceConfig {
  /** A built-in driver type or one registered by the config's plugins. */
  type: string;
  params: Record<string, unknown>;
  /** Connect when the appliance starts; default false. */
  connect: boolean;
  /** Bound on each call to the device, ms. */
  callTimeoutMs?: number;
}

export interface LabConfig {
  name?: string;
  description?: string;
  host?: string;
  port?: number;
  token?: string;
  cors?: string[];
  logLevel?: LogLevel;
  completedTaskBuffer?: number;
  /** Where task history and recordings go; relative to the configuration file's folder. */
  dataDir?: string;
  /** How much finished-task history the data directory keeps: `{ tasks: 1000, days: 90 }`. */
  retention?: { tasks?: number; days?: number };
  /** Devices by id. */
  devices: Record<string, DeviceConfig>;
  /** Built-in task types to offer; default all of them. */
  tasks?: string[];
  /** TypeScript configs only: device and task classes, usually imported from files beside the config. */
  plugins?: { devices?: Record<string, DeviceClass>; tasks?: Record<string, TaskClass> };
  /**
   * TypeScript configs only: runs after the devices are added and connected, before serving; may return
   * a function to run after the daemon has shut down (close what setup opened).
   */
  setup?: (daemon: LabDaemon) => unknown;
}

export type ConfigPath = ReadonlyArray<string | number>;

export interface LoadedConfig {
  /** Absolute path, or "(built-in simulated lab)". */
  file: string;
  profile: string | null;
  config: LabConfig;
  /** "file:line:column" of a value in the file, as precisely as the format allows. */
  where(path: ConfigPath): string;
}

/** A configuration problem; its message starts with the file (and line when known). */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export const CONFIG_BASENAME = "lab_servers";
const EXTENSIONS = [".ts", ".json", ".yaml", ".yml"];

export interface Discovery {
  file: string;
  /** How it was found, for the start-up line. */
  via: "--config" | "LABDAEMON_CONFIG" | "current folder" | "~/.labdaemon";
}

/**
 * The seed's discovery order: an explicit --config, then LABDAEMON_CONFIG, then ./lab_servers.*, then
 * ~/.labdaemon/lab_servers.*. Explicit choices must exist; null when nothing is configured.
 */
export function discoverConfig(
  opts: { flag?: string; env?: string; cwd?: string; home?: string } = {},
): Discovery | null {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag !== undefined) return { file: mustExist(resolve(cwd, opts.flag), "--config"), via: "--config" };
  if (opts.env) return { file: mustExist(resolve(cwd, opts.env), "LABDAEMON_CONFIG"), via: "LABDAEMON_CONFIG" };
  const local = firstExisting(cwd);
  if (local) return { file: local, via: "current folder" };
  const home = opts.home ?? homedir();
  const user = firstExisting(join(home, ".labdaemon"));
  if (user) return { file: user, via: "~/.labdaemon" };
  return null;
}

function firstExisting(dir: string): string | null {
  for (const ext of EXTENSIONS) {
    const f = join(dir, CONFIG_BASENAME + ext);
    if (isFile(f)) return f;
  }
  return null;
}

function mustExist(file: string, from: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message} (given by ${from})`);
  }
  if (st?.isDirectory()) throw new ConfigError(`${file}: is a directory, not a config file (given by ${from})`);
  if (st && !st.isFile()) throw new ConfigError(`${file}: not a regular file (given by ${from})`);
  if (!st) throw new ConfigError(`${file}: config file not found (given by ${from})`);
  return file;
}

function isFile(f: string): boolean {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
}

/** How long a TypeScript config may take to load (its top-level awaits included). */
export const CONFIG_IMPORT_TIMEOUT_MS = 30_000;

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
    (path, msg) => new ConfigError(`${label}: ${fmtPath(path)}${msg}`),
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

/** A file's parsed content, where a path in it is, and how to fail at a path. */
interface RawConfig {
  raw: unknown;
  where: (path: ConfigPath) => string;
  fail: Fail;
  isModule: boolean;
}

function readDataConfig(file: string): RawConfig {
  const { raw, position } = parseDataFile(file, readText(file), (message) => new ConfigError(message));
  const where = (path: ConfigPath) => `${file}${position(path)}`;
  const proto = protoKeyPath(raw);
  if (proto) throw new ConfigError(`${where(proto)}: ${fmtPath(proto)}: '__proto__' is not allowed as a key`);
  return {
    raw,
    where,
    fail: (path, msg) => new ConfigError(`${where(path)}: ${fmtPath(path)}${msg}`),
    isModule: false,
  };
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

/**
 * Where the first `__proto__` key is, if any. The parser keeps it as a plain own key, but copied by
 * assignment (`devices[id] = …`, `Object.assign(defaults, params)`) it replaces the target's prototype.
 */
function protoKeyPath(v: unknown, path: Array<string | number> = [], seen = new Set<object>()): ConfigPath | null {
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

// ---------------------------------------------------------------- TypeScript

async function loadModuleConfig(file: string, profile: string | undefined, timeoutMs: number): Promise<LoadedConfig> {
  const { raw, where, fail } = await readModuleConfig(file, timeoutMs);
  const { config, profile: chosen } = selectProfile(raw, profile, fail, true);
  return { file, profile: chosen, config, where };
}

async function readModuleConfig(file: string, timeoutMs: number): Promise<RawConfig> {
  const text = readText(file);
  registerLabdaemonModule();
  let mod: Record<string, unknown>;
  try {
    // A top-level await that never settles would hang start-up, or, with nothing else pending, end the
    // process with status 0 and no word.
    mod = await settleWithin(
      import(pathToFileURL(file).href),
      timeoutMs,
      () =>
        new ConfigError(
          `${file}: the module did not finish loading within ${timeoutMs} ms (a top-level await that never settles?)`,
        ),
    );
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(describeImportError(e, file));
  }
  const raw = mod.default ?? (mod.configs ? { configs: mod.configs, default: mod.defaultProfile } : undefined);
  if (raw === undefined)
    throw new ConfigError(`${file}: the module must \`export default\` a lab configuration (or export \`configs\`)`);
  const where = (path: ConfigPath) => `${file}${searchLine(text, path)}`;
  return { raw, where, fail: (path, msg) => new ConfigError(`${where(path)}: ${fmtPath(path)}${msg}`), isModule: true };
}

/** A syntax error carries its position; a throw while the module runs points at the user's frame. */
export function describeImportError(e: unknown, file: string): string {
  const err = e as {
    message?: string;
    position?: { file?: string; line?: number; column?: number };
    errors?: unknown[];
    stack?: string;
  };
  const first = Array.isArray(err?.errors) && err.errors.length > 0 ? (err.errors[0] as typeof err) : err;
  if (first?.position?.line) {
    const p = first.position;
    return `${p.file ?? file}:${p.line}:${p.column ?? 0}: ${first.message ?? String(first)}`;
  }
  const name = (err as { name?: string })?.name ?? "";
  const message =
    typeof err?.message === "string"
      ? `${["Error", "ResolveMessage", "BuildMessage"].includes(name) ? "" : `${name}: `}${err.message}`
      : String(e);
  const frame = /\(?((?:\/|[A-Za-z]:\\)[^\s()]+?\.(?:m?[jt]s)):(\d+):(\d+)\)?/.exec(err?.stack ?? "");
  if (frame && !frame[1]!.startsWith("/$bunfs")) return `${frame[1]}:${frame[2]}:${frame[3]}: ${message}`;
  return `${file}: ${message}`;
}

/** A TypeScript config has no parse tree to ask: the line where the path's last key first appears. */
function searchLine(text: string, path: ConfigPath): string {
  for (let n = path.length; n > 0; n--) {
    const key = path[n - 1];
    if (typeof key !== "string") continue;
    const m = new RegExp(`(^|[\\s{,"'\`])${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["'\`]?\\s*:`, "m").exec(text);
    if (m) {
      const { line, column } = lineColumn(text, m.index + m[1]!.length);
      return `:${line}:${column}`;
    }
  }
  return "";
}

// ---------------------------------------------------------------- validation

type Fail = (path: ConfigPath, message: string) => ConfigError;

const PROFILE_KEYS = [
  "name",
  "description",
  "host",
  "port",
  "token",
  "cors",
  "logLevel",
  "completedTaskBuffer",
  "dataDir",
  "retention",
  "devices",
  "tasks",
  "plugins",
  "setup",
];
const DEVICE_KEYS = ["type", "params", "connect", "callTimeoutMs"];
const CODE_ONLY = new Set(["plugins", "setup"]);
/** A browser origin: scheme, host and port, nothing else (and never "*"). */
export const ORIGIN = /^https?:\/\/[^/\s]+\/?$/;

function selectProfile(
  raw: unknown,
  profile: string | undefined,
  fail: Fail,
  isModule = false,
): { config: LabConfig; profile: string | null } {
  if (!isObject(raw)) throw fail([], "a lab configuration must be an object (a mapping)");
  if ("configs" in raw) {
    for (const k of Object.keys(raw))
      if (k !== "configs" && k !== "default")
        throw fail([k], ` unknown key beside 'configs' (only 'default' may be there)`);
    const profiles = raw.configs;
    if (!isObject(profiles) || Object.keys(profiles).length === 0)
      throw fail(["configs"], " must map profile names to configurations");
    const names = Object.keys(profiles);
    let chosen = profile;
    if (chosen === undefined) {
      if (raw.default !== undefined) {
        if (typeof raw.default !== "string" || !names.includes(raw.default))
          throw fail(["default"], ` must name one of the profiles: ${names.join(", ")}`);
        chosen = raw.default;
      } else if (names.length === 1) chosen = names[0]!;
      else throw fail(["configs"], ` holds several profiles (${names.join(", ")}): choose one with --profile`);
    }
    if (!Object.hasOwn(profiles, chosen))
      throw fail(["configs"], ` has no profile '${chosen}' (profiles: ${names.join(", ")})`);
    return { config: validateProfile(profiles[chosen], ["configs", chosen], fail, isModule), profile: chosen };
  }
  if (profile !== undefined)
    throw fail([], `--profile '${profile}' given, but this file holds one configuration (no 'configs' section)`);
  return { config: validateProfile(raw, [], fail, isModule), profile: null };
}

function validateProfile(raw: unknown, at: ConfigPath, fail: Fail, isModule: boolean): LabConfig {
  if (!isObject(raw)) throw fail(at, " must be an object (a mapping)");
  for (const k of Object.keys(raw)) {
    if (!PROFILE_KEYS.includes(k))
      throw fail(
        [...at, k],
        ` unknown key (expected one of: ${PROFILE_KEYS.filter((p) => isModule || !CODE_ONLY.has(p)).join(", ")})`,
      );
    if (!isModule && CODE_ONLY.has(k))
      throw fail([...at, k], " is only possible in a TypeScript config (it holds code)");
  }
  const str = (k: string) => {
    const v = raw[k];
    if (v !== undefined && typeof v !== "string") throw fail([...at, k], " must be a string");
    return v as string | undefined;
  };
  const nonEmpty = (k: string) => {
    const v = str(k);
    if (v === "") throw fail([...at, k], " must not be empty (leave it out for none)");
    return v;
  };
  const int = (k: string, min: number, max: number) => {
    const v = raw[k];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max))
      throw fail([...at, k], ` must be an integer within ${min}–${max}`);
    return v as number | undefined;
  };
  const cfg: LabConfig = {
    name: str("name"),
    description: str("description"),
    host: str("host"),
    port: int("port", 0, 65535),
    token: nonEmpty("token"),
    completedTaskBuffer: int("completedTaskBuffer", 0, 100_000),
    dataDir: str("dataDir"),
    devices: {},
  };
  if (raw.retention !== undefined) {
    const r = raw.retention;
    const ok =
      isObject(r) &&
      Object.keys(r).every((k) => k === "tasks" || k === "days") &&
      (r.tasks === undefined ||
        (Number.isInteger(r.tasks) && (r.tasks as number) >= 0 && (r.tasks as number) <= 10_000_000)) &&
      (r.days === undefined || (typeof r.days === "number" && r.days > 0 && r.days <= 100_000));
    if (!ok)
      throw fail(
        [...at, "retention"],
        " must be { tasks: <finished tasks kept, integer ≥ 0>, days: <age limit, > 0> }",
      );
    cfg.retention = r as LabConfig["retention"];
  }
  if (raw.cors !== undefined) {
    const list = typeof raw.cors === "string" ? [raw.cors] : raw.cors;
    if (!Array.isArray(list) || !list.every((o) => typeof o === "string" && ORIGIN.test(o))) {
      throw fail([...at, "cors"], " must be an origin (http://host[:port], never '*') or a list of them");
    }
    cfg.cors = list as string[];
  }
  if (raw.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(raw.logLevel as LogLevel))
      throw fail([...at, "logLevel"], ` must be one of ${LOG_LEVELS.join(", ")}`);
    cfg.logLevel = raw.logLevel as LogLevel;
  }
  const devices = raw.devices ?? {};
  if (!isObject(devices)) throw fail([...at, "devices"], " must map device ids to { type, params, connect }");
  for (const [id, d] of Object.entries(devices)) {
    const p = [...at, "devices", id];
    if (!isObject(d)) throw fail(p, " must be an object with a 'type'");
    for (const k of Object.keys(d))
      if (!DEVICE_KEYS.includes(k)) throw fail([...p, k], ` unknown key (expected one of: ${DEVICE_KEYS.join(", ")})`);
    if (typeof d.type !== "string" || d.type === "") throw fail([...p, "type"], " must name a device type");
    if (d.params !== undefined && !isObject(d.params)) throw fail([...p, "params"], " must be an object");
    if (d.connect !== undefined && typeof d.connect !== "boolean")
      throw fail([...p, "connect"], " must be true or false");
    if (d.callTimeoutMs !== undefined && !isMs(d.callTimeoutMs)) {
      throw fail([...p, "callTimeoutMs"], ` must be ${MS_RANGE}`);
    }
    cfg.devices[id] = {
      type: d.type,
      params: (d.params as Record<string, unknown>) ?? {},
      connect: d.connect === true,
      callTimeoutMs: d.callTimeoutMs as number | undefined,
    };
  }
  if (raw.tasks !== undefined) {
    if (!Array.isArray(raw.tasks) || !raw.tasks.every((x) => typeof x === "string"))
      throw fail([...at, "tasks"], " must be a list of task type names");
    cfg.tasks = raw.tasks as string[];
  }
  if (raw.plugins !== undefined) {
    const pl = raw.plugins;
    if (!isObject(pl)) throw fail([...at, "plugins"], " must be { devices?: {Name: Class}, tasks?: {Name: Class} }");
    for (const k of Object.keys(pl))
      if (k !== "devices" && k !== "tasks") throw fail([...at, "plugins", k], " unknown key (expected devices, tasks)");
    for (const kind of ["devices", "tasks"] as const) {
      const m = pl[kind];
      if (m === undefined) continue;
      if (!isObject(m)) throw fail([...at, "plugins", kind], " must map type names to classes");
      for (const [name, cls] of Object.entries(m))
        if (typeof cls !== "function") throw fail([...at, "plugins", kind, name], " is not a class");
    }
    cfg.plugins = pl as LabConfig["plugins"];
  }
  if (raw.setup !== undefined) {
    if (typeof raw.setup !== "function") throw fail([...at, "setup"], " must be a function (daemon) => void");
    cfg.setup = raw.setup as LabConfig["setup"];
  }
  return cfg;
}

function fmtPath(path: ConfigPath): string {
  return path.length === 0 ? "" : path.map(String).join(".");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Larger than any hand-written lab; a bigger file is a mistake, and parsing it would take seconds and GBs. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

function readText(file: string): string {
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new ConfigError(`${file}: is a directory, not a config file`);
    // A FIFO or device would block the read forever, or never end.
    if (!st.isFile()) throw new ConfigError(`${file}: not a regular file`);
    if (st.size > MAX_CONFIG_BYTES)
      throw new ConfigError(`${file}: config file too large (${st.size} bytes; at most ${MAX_CONFIG_BYTES})`);
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ConfigError(`${file}: config file not found`);
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  // Grown between stat and read: the cap holds for what was read.
  if (bytes.length > MAX_CONFIG_BYTES)
    throw new ConfigError(`${file}: config file too large (more than ${MAX_CONFIG_BYTES} bytes)`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder().decode(bytes.subarray(0, at));
    const { line, column } = lineColumn(before, before.length);
    throw new ConfigError(
      `${file}:${line}:${column}: not UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, "0")} at offset ${at}); save the file as UTF-8`,
    );
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or the length. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return i;
    i += n + 1;
  }
  return b.length;
}
