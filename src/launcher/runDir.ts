// The run directory: one record per server the launcher started (PID, port, profile, start time, and
// what proves the PID is still that process), so a later launcher can find servers an earlier one left.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, win32 } from "node:path";
import { commandLine, environValue, isAlive, startTicks } from "./procInfo.ts";
import { userDirectory } from "../cli/userDirectory.ts";

/** The variable each started server carries with its record's id: proof, read from /proc, that we started it. */
export const LAUNCH_ID_VAR = "LABDAEMON_LAUNCH_ID";

export interface RunRecord {
  id: string;
  pid: number;
  /** /proc start time of `pid`: a reused PID has another. */
  start_ticks: string;
  profile: string;
  config: string;
  host: string;
  port: number | null;
  started_at: string;
  keep_running: boolean;
  log_file: string;
  launcher_pid: number;
  launcher_start_ticks: string | null;
}

/**
 * `$XDG_RUNTIME_DIR/labdaemon`, else `~/.labdaemon/run` (`%LOCALAPPDATA%\labdaemon\run` on Windows);
 * `LABDAEMON_RUN_DIR` overrides them (tests).
 */
export function runDirectory(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  if (env.LABDAEMON_RUN_DIR) return env.LABDAEMON_RUN_DIR;
  if (env.XDG_RUNTIME_DIR && platform !== "win32") return join(env.XDG_RUNTIME_DIR, "labdaemon");
  return (platform === "win32" ? win32.join : join)(userDirectory(env, platform), "run");
}

export class RunDir {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  logPath(id: string): string {
    return join(this.dir, `${id}.log`);
  }

  /** Where the server `id` looks for a stop request (see cli/stopFile.ts). */
  stopPath(id: string): string {
    return join(this.dir, `${id}.stop`);
  }

  /** Written beside and renamed: a launcher killed mid-write leaves the old record or the new, never half. */
  write(record: RunRecord): void {
    const file = join(this.dir, `${record.id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  remove(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
    rmSync(this.logPath(id), { force: true });
    rmSync(this.stopPath(id), { force: true });
  }

  /** Every readable record; a file that is not one is skipped (the directory may hold anything). */
  list(): RunRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: RunRecord[] = [];
    for (const name of names) {
      if (!name.endsWith(".json")) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as RunRecord;
        if (typeof r.id === "string" && `${r.id}.json` === name && Number.isInteger(r.pid) && r.pid > 0) out.push(r);
      } catch {
        // half-written by a crashed launcher, or foreign: not ours to interpret
      }
    }
    return out;
  }
}

/**
 * Whether the record's PID is still the labdaemon server it describes: same start time (no PID reuse),
 * a `serve` command line, and our launch id in its environment. Only then may it be signalled.
 */
export function provenServer(r: RunRecord): { ok: true } | { ok: false; reason: string } {
  if (!isAlive(r.pid)) return { ok: false, reason: `process ${r.pid} has ended` };
  const ticks = startTicks(r.pid);
  if (ticks === null) return { ok: false, reason: `process ${r.pid} cannot be inspected (/proc)` };
  if (ticks !== r.start_ticks)
    return { ok: false, reason: `PID ${r.pid} now belongs to another process (started at another time)` };
  const argv = commandLine(r.pid) ?? [];
  if (!argv.includes("serve"))
    return { ok: false, reason: `process ${r.pid} is not a labdaemon server (${argv.join(" ") || "?"})` };
  if (environValue(r.pid, LAUNCH_ID_VAR) !== r.id)
    return { ok: false, reason: `process ${r.pid} does not carry this record's launch id` };
  return { ok: true };
}

/** Whether the launcher that wrote the record is still running (then its servers are not orphans). */
export function launcherAlive(r: RunRecord): boolean {
  return r.launcher_start_ticks !== null && startTicks(r.launcher_pid) === r.launcher_start_ticks;
}
