// Where the lab configuration is found: --config, then LABDAEMON_CONFIG, then ./lab_servers.*, then
// ~/.labdaemon/lab_servers.*.
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "./configError.ts";

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
