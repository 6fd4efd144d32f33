// Where the lab configuration is found: --config, then LABDAEMON_CONFIG, then ./lab_servers.*, then
// the user's labdaemon folder (~/.labdaemon, %LOCALAPPDATA%\labdaemon on Windows)/lab_servers.*.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "./configError.ts";
import { userDirectory } from "./userDirectory.ts";

export const CONFIG_BASENAME = "lab_servers";
const EXTENSIONS = [".ts", ".json", ".yaml", ".yml"];

/** The user's labdaemon folder, and its name as messages show it. */
export interface UserFolder {
  dir: string;
  label: "~/.labdaemon" | "%LOCALAPPDATA%\\labdaemon";
}

export interface Discovery {
  file: string;
  /** How it was found, for the start-up line. */
  via: "--config" | "LABDAEMON_CONFIG" | "current folder" | UserFolder["label"];
}

/** ~/.labdaemon; on Windows %LOCALAPPDATA%\labdaemon, where the run directory and data live too. */
export function userConfigFolder(
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
): UserFolder {
  return {
    dir: userDirectory(env, platform),
    label: platform === "win32" ? "%LOCALAPPDATA%\\labdaemon" : "~/.labdaemon",
  };
}

/** Where discovery looks, in order, for the message that says nothing was found. */
export function searchedPlaces(user: UserFolder = userConfigFolder()): string {
  const slash = user.label.startsWith("%") ? "\\" : "/";
  return `--config, $LABDAEMON_CONFIG, .${slash}${CONFIG_BASENAME}.*, ${user.label}${slash}${CONFIG_BASENAME}.*`;
}

/**
 * The seed's discovery order: an explicit --config, then LABDAEMON_CONFIG, then ./lab_servers.*, then
 * lab_servers.* in the user's folder. Explicit choices must exist; null when nothing is configured.
 */
export function discoverConfig(
  opts: { flag?: string; env?: string; cwd?: string; user?: UserFolder } = {},
): Discovery | null {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag !== undefined) return { file: mustExist(resolve(cwd, opts.flag), "--config"), via: "--config" };
  if (opts.env) return { file: mustExist(resolve(cwd, opts.env), "LABDAEMON_CONFIG"), via: "LABDAEMON_CONFIG" };
  const local = firstExisting(cwd);
  if (local) return { file: local, via: "current folder" };
  const user = opts.user ?? userConfigFolder();
  const found = firstExisting(user.dir);
  if (found) return { file: found, via: user.label };
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
