// One server the launcher runs or adopted: its child process, its state (starting → healthy/unhealthy →
// stopped or crashed), its log, and its run-directory record.
import { closeSync, openSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import type { LogBuffer } from "./logBuffer.ts";
import { LogTail } from "./logTail.ts";
import { isAlive, startTicks } from "./procInfo.ts";
import type { ProfileInfo } from "./profiles.ts";
import { LAUNCH_ID_VAR, provenServer, type RunDir, type RunRecord } from "./runDir.ts";
import { selfCommand } from "./selfCommand.ts";
import { STOP_FILE_VAR } from "../cli/stopFile.ts";
import type { ServerState } from "./wire.ts";

export type { ServerState } from "./wire.ts";

/** serve's own shutdown budget is 2 s; past this the child is killed. */
export const STOP_GRACE_MS = 3000;

/** SIGTERM; or, where there are no signals (Windows), the server's stop file (cli/stopFile.ts). */
export type StopBy = "signal" | "file";
/** A server not answering /health this long after its start is shown unhealthy (it may still come up). */
const START_PATIENCE_MS = 60_000;
const HEALTH_TIMEOUT_MS = 1500;
/** Lines shown with a crash. */
const CRASH_LINES = 20;
/** The address `serve` announces once it listens: the real port when the profile asks for port 0. */
const SERVING = /labdaemon serving .* on http:\/\/(\S+?):(\d+)\b/;

export class ManagedServer {
  state: ServerState = "starting";
  exitCode: number | null = null;
  port: number;
  private proc: ReturnType<typeof Bun.spawn> | null = null;
  private stopBy: StopBy = "signal";
  private tail: LogTail | null = null;
  private startedMs: number;
  private everHealthy = false;
  private stopping: Promise<void> | null = null;
  private readonly exitWaiters = new Set<() => void>();
  private unsubscribe: () => void;

  private constructor(
    readonly profile: string,
    readonly record: RunRecord,
    private readonly runDir: RunDir,
    readonly adopted: boolean,
    /** The profile's configuration when this server started it, to tell when it needs a restart. */
    readonly fingerprint: string,
    /** The profile's log: one per profile, so a restart continues the same stream. */
    readonly logs: LogBuffer,
  ) {
    this.port = record.port ?? 0;
    this.startedMs = Date.parse(record.started_at);
    // The announced port replaces the configured one (a profile with port 0 gets a free one at start).
    this.unsubscribe = this.logs.subscribe((line) => {
      const m = SERVING.exec(line.text);
      if (m && Number(m[2]) !== this.record.port) {
        this.port = Number(m[2]);
        this.record.port = this.port;
        try {
          this.runDir.write(this.record);
        } catch (e) {
          // Only a later launcher's view of its port suffers; this one goes on watching it.
          console.error(`labdaemon launcher: cannot update the record of '${profile}': ${(e as Error).message}`);
        }
      }
    });
  }

  get pid(): number {
    return this.record.pid;
  }

  get keepRunning(): boolean {
    return this.record.keep_running;
  }

  get active(): boolean {
    return (
      this.state === "starting" || this.state === "healthy" || this.state === "unhealthy" || this.state === "stopping"
    );
  }

  uptimeSeconds(): number | null {
    return this.active ? Math.max(0, Math.round((Date.now() - this.startedMs) / 1000)) : null;
  }

  /** Starts `labdaemon serve` for the profile; its output goes to a file in the run directory. */
  static start(
    p: ProfileInfo,
    configFile: string,
    runDir: RunDir,
    opts: { keepRunning: boolean; cwd: string; launcherTicks: string | null; logs: LogBuffer; stopBy?: StopBy },
  ): ManagedServer {
    const id = `${p.name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
    const logFile = runDir.logPath(id);
    const fd = openSync(logFile, "a", 0o600);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env.LABDAEMON_CONFIG; // --config names the file
    // The profile's own token wins over one the launcher happened to inherit; without one, an inherited
    // token still protects the server (never weaker than configured).
    if (p.hasToken) delete env.LABDAEMON_TOKEN;
    env[LAUNCH_ID_VAR] = id;
    if (opts.stopBy === "file") env[STOP_FILE_VAR] = runDir.stopPath(id);
    const args = ["serve", "--config", configFile, ...(p.selector !== null ? ["--profile", p.selector] : [])];
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      // Its own process group: a Ctrl-C meant for the launcher must not reach a server kept running.
      proc = Bun.spawn(selfCommand(args), {
        cwd: opts.cwd,
        env,
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const record: RunRecord = {
      id,
      pid: proc.pid,
      start_ticks: startTicks(proc.pid) ?? "",
      profile: p.name,
      config: configFile,
      host: p.host,
      port: p.port === 0 ? null : p.port,
      started_at: new Date().toISOString(),
      keep_running: opts.keepRunning,
      log_file: logFile,
      launcher_pid: process.pid,
      launcher_start_ticks: opts.launcherTicks,
    };
    const s = new ManagedServer(p.name, record, runDir, false, p.fingerprint, opts.logs);
    try {
      runDir.write(record);
      s.tail = new LogTail(logFile, s.logs);
    } catch (e) {
      // Unrecorded or unwatched (a full disk …), it would run on where no launcher can find or stop it.
      s.unsubscribe();
      proc.kill("SIGKILL");
      try {
        runDir.remove(id);
      } catch {
        // the failure being reported is the one that matters
      }
      throw e;
    }
    s.proc = proc;
    s.stopBy = opts.stopBy ?? "signal";
    s.logs.note(`started: ${args.join(" ")} (PID ${proc.pid})`);
    // A signal death is reported as the shell does: 128 + the signal's number.
    void proc.exited.then((code) => {
      const sig = proc.signalCode;
      s.exited(sig ? 128 + (typeof sig === "number" ? sig : (constants.signals[sig] ?? 0)) : code);
    });
    return s;
  }

  /** Takes over a server an earlier launcher started (its record proven); it is watched by PID from now on. */
  static adopt(
    record: RunRecord,
    runDir: RunDir,
    fingerprint: string,
    launcherTicks: string | null,
    logs: LogBuffer,
  ): ManagedServer {
    record.launcher_pid = process.pid;
    record.launcher_start_ticks = launcherTicks;
    runDir.write(record);
    const s = new ManagedServer(record.profile, record, runDir, true, fingerprint, logs);
    try {
      s.tail = new LogTail(record.log_file, s.logs, { fromEnd: true });
    } catch (e) {
      s.logs.note(`its log ${record.log_file} cannot be read: ${(e as Error).message}`);
    }
    s.logs.note(`adopted PID ${record.pid}, started ${record.started_at}`);
    return s;
  }

  /** One health check: /health answered 200, and (adopted) the PID still the recorded process. */
  async poll(): Promise<void> {
    this.tail?.pump();
    if (!this.active || this.state === "stopping") return;
    if (this.adopted && startTicks(this.pid) !== this.record.start_ticks) {
      this.exited(null);
      return;
    }
    const host = this.record.host === "0.0.0.0" ? "127.0.0.1" : this.record.host === "::" ? "::1" : this.record.host;
    if (!this.port) return; // port 0: not announced yet
    let ok = false;
    try {
      const res = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${this.port}/health`, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      ok = res.status === 200 && ((await res.json()) as { status?: string })?.status === "healthy";
    } catch {
      ok = false;
    }
    const now = this.state as ServerState;
    if (now !== "starting" && now !== "healthy" && now !== "unhealthy") return; // it ended, or is stopping, while we asked
    if (ok) {
      this.everHealthy = true;
      this.state = "healthy";
    } else if (this.everHealthy || Date.now() - this.startedMs > START_PATIENCE_MS) {
      this.state = "unhealthy";
    }
  }

  private exited(code: number | null): void {
    if (this.state === "stopped" || this.state === "crashed") return;
    this.tail?.close();
    this.tail = null;
    this.unsubscribe();
    this.exitCode = code;
    const wanted = this.state === "stopping";
    this.state = wanted || code === 0 ? "stopped" : "crashed";
    this.logs.note(
      this.state === "crashed"
        ? `exited with ${code === null ? "an unknown status" : `status ${code}`}`
        : `stopped${code !== null ? ` (status ${code})` : ""}`,
    );
    // The record and its log file go with the process: the last lines live on in the profile's buffer.
    this.runDir.remove(this.record.id);
    for (const w of this.exitWaiters) w();
    this.exitWaiters.clear();
  }

  lastLines(): string[] {
    return this.logs.tail(CRASH_LINES);
  }

  /** SIGTERM, SIGKILL after STOP_GRACE_MS; resolves once the process is gone. Idempotent. */
  stop(): Promise<void> {
    if (!this.active) return Promise.resolve();
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    this.state = "stopping";
    if (this.proc) {
      const byFile = this.stopBy === "file";
      this.logs.note(byFile ? "stopping (stop file; the server shuts down as on SIGTERM)" : "stopping (SIGTERM)");
      try {
        if (byFile) writeFileSync(this.runDir.stopPath(this.record.id), "", { mode: 0o600 });
        else this.proc.kill("SIGTERM");
      } catch (e) {
        this.logs.note(`cannot ask it to stop: ${(e as Error).message}`);
      }
      if (!(await this.exitWithin(STOP_GRACE_MS))) {
        this.logs.note(`no exit within ${STOP_GRACE_MS} ms: ${byFile ? "terminating it" : "SIGKILL"}`);
        this.proc.kill("SIGKILL");
        await this.exitWithin(STOP_GRACE_MS);
      }
      return;
    }
    this.logs.note("stopping (SIGTERM)");
    // Adopted: not our child, no exit event to wait for; signal it only while it is provably ours.
    try {
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (!provenServer(this.record).ok) break;
        try {
          process.kill(this.pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ESRCH") break; // it ended since it was proven
          throw e;
        }
        const end = Date.now() + STOP_GRACE_MS;
        while (Date.now() < end && isAlive(this.pid) && startTicks(this.pid) === this.record.start_ticks)
          await Bun.sleep(50);
        if (startTicks(this.pid) !== this.record.start_ticks) break;
      }
    } finally {
      // Never left "stopping": the page and quitting wait for an end.
      this.exited(null);
    }
  }

  private exitWithin(ms: number): Promise<boolean> {
    if (!this.active) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.exitWaiters.delete(done);
        resolve(false);
      }, ms);
      this.exitWaiters.add(done);
    });
  }

  /** The launcher quits and leaves this server running: its record stays for the next launcher. */
  release(): void {
    this.tail?.close();
    this.tail = null;
  }
}
