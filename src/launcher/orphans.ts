// Servers an earlier launcher left running (their records in the run directory): listed with whether each
// is provably the recorded server, adopted, stopped, or forgotten once they no longer run.
import { statSync } from "node:fs";
import { HttpError } from "../server/errors.ts";
import { LogBuffer } from "./logBuffer.ts";
import type { ProfileInfo } from "./profiles.ts";
import { launcherAlive, provenServer, type RunDir, type RunRecord } from "./runDir.ts";
import { ManagedServer } from "./server.ts";
import type { OrphanView } from "./wire.ts";

/** What the launcher knows that decides whether an orphan can be adopted here. */
export interface AdoptionContext {
  configFile: string | null;
  profiles: ProfileInfo[];
  /** Whether this launcher already runs a server for the profile. */
  runs(profile: string): boolean;
}

export class Orphans {
  private records: RunRecord[];

  constructor(
    private readonly runDir: RunDir,
    private readonly launcherTicks: string | null,
  ) {
    this.records = runDir.list().filter((r) => r.launcher_pid !== process.pid && !launcherAlive(r));
  }

  list(ctx: AdoptionContext): OrphanView[] {
    return this.records.map((r) => {
      const proof = provenServer(r);
      return {
        id: r.id,
        profile: r.profile,
        config: r.config,
        pid: r.pid,
        port: r.port,
        started_at: r.started_at,
        status: proof.ok ? "running" : "stale",
        ...(proof.ok ? {} : { reason: proof.reason }),
        adoptable:
          proof.ok &&
          r.config === ctx.configFile &&
          ctx.profiles.some((p) => p.name === r.profile) &&
          !ctx.runs(r.profile),
      };
    });
  }

  /** Takes the orphan over as one of this launcher's servers (its logs go to `logs`); it leaves the list. */
  adopt(id: string, ctx: AdoptionContext, logs: (profile: string) => LogBuffer): ManagedServer {
    const r = this.get(id);
    const proof = provenServer(r);
    if (!proof.ok) throw new HttpError(409, "NotProven", `cannot adopt '${id}': ${proof.reason}`, { id, pid: r.pid });
    if (r.config !== ctx.configFile) {
      throw new HttpError(
        409,
        "OtherConfig",
        `'${id}' was started from ${r.config}, not this launcher's ${ctx.configFile ?? "(none)"}; stop it instead, or run a launcher with --config ${r.config}`,
        { id, config: r.config },
      );
    }
    const p = ctx.profiles.find((x) => x.name === r.profile);
    if (!p)
      throw new HttpError(
        409,
        "ProfileRemoved",
        `profile '${r.profile}' is no longer in the configuration; stop it instead`,
        { id, profile: r.profile },
      );
    if (ctx.runs(r.profile))
      throw new HttpError(409, "AlreadyRunning", `profile '${r.profile}' already runs here`, {
        id,
        profile: r.profile,
      });
    // Its configuration at start is unknown: if the file changed since, the page says so.
    const fingerprint =
      statSync(r.config).mtimeMs <= Date.parse(r.started_at)
        ? p.fingerprint
        : "(unknown: the file changed since it started)";
    const s = ManagedServer.adopt(r, this.runDir, fingerprint, this.launcherTicks, logs(r.profile));
    this.drop(r);
    return s;
  }

  /** Stops an orphan that is provably the recorded server; anything else is never signalled. */
  async stop(id: string): Promise<void> {
    const r = this.get(id);
    const proof = provenServer(r);
    if (!proof.ok)
      throw new HttpError(
        409,
        "NotProven",
        `refusing to signal PID ${r.pid}: ${proof.reason}; clean up the record instead`,
        { id, pid: r.pid },
      );
    const s = ManagedServer.adopt(r, this.runDir, "", this.launcherTicks, new LogBuffer());
    await s.stop();
    this.runDir.remove(r.id);
    this.drop(r);
  }

  /** Removes the record of an orphan that no longer runs. */
  forget(id: string): void {
    const r = this.get(id);
    if (provenServer(r).ok)
      throw new HttpError(409, "StillRunning", `PID ${r.pid} is still that server: adopt or stop it`, {
        id,
        pid: r.pid,
      });
    this.runDir.remove(r.id);
    this.drop(r);
  }

  private get(id: string): RunRecord {
    const r = this.records.find((o) => o.id === id);
    if (!r) throw new HttpError(404, "OrphanNotFound", `no orphan record '${id}'`, { id });
    return r;
  }

  private drop(r: RunRecord): void {
    this.records = this.records.filter((o) => o !== r);
  }
}
