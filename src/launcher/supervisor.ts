// The launcher's state: the configuration and its profiles, the servers it runs (one per profile at a
// time) with the one timer that polls their health; orphans.ts keeps what an earlier launcher left.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { CONFIG_BASENAME, discoverConfig, type Discovery, type UserFolder, userConfigFolder } from "../cli/config.ts";
import { HttpError } from "../server/errors.ts";
import { configProblem, saveConfig } from "./configFile.ts";
import { LogBuffer } from "./logBuffer.ts";
import { type AdoptionContext, Orphans } from "./orphans.ts";
import { checkPortFree } from "./portCheck.ts";
import { startTicks } from "./procInfo.ts";
import { readProfiles, type ProfileInfo } from "./profiles.ts";
import type { StopBy } from "./server.ts";
import { RunDir } from "./runDir.ts";
import { ManagedServer } from "./server.ts";
import type { OrphanView, ProfileView } from "./wire.ts";

export type { OrphanView, ProfileView } from "./wire.ts";
import { TEMPLATE_JSON, TEMPLATE_YAML } from "./template.ts";

/** Health is asked this often once every server is up; while one starts, more often. */
export const HEALTH_INTERVAL_MS = 2000;
const STARTING_INTERVAL_MS = 200;
const EXTENSIONS = [".ts", ".json", ".yaml", ".yml"];

export interface SupervisorOptions {
  /** --config as given (relative to cwd). */
  configFlag?: string;
  cwd?: string;
  /** A home folder whose .labdaemon is looked in (default: the user's folder, %LOCALAPPDATA%\\labdaemon on Windows). */
  home?: string;
  runDir: string;
  /** How a server is asked to stop: SIGTERM, or (Windows, which has no signals) its stop file. */
  stopBy?: StopBy;
}

export class Supervisor {
  configFile: string | null = null;
  via: Discovery["via"] | "created" | null = null;
  configError: HttpError | null = null;
  profiles: ProfileInfo[] = [];
  readonly runDir: RunDir;
  private readonly stopBy: StopBy;
  private readonly servers = new Map<string, ManagedServer>();
  private readonly logs = new Map<string, LogBuffer>();
  private orphans!: Orphans;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly cwd: string;
  private readonly user: UserFolder;
  private readonly launcherTicks = startTicks(process.pid);
  private closed = false;
  private loadedMtime: number | null = null;

  private constructor(opts: SupervisorOptions) {
    this.cwd = opts.cwd ?? process.cwd();
    this.user =
      opts.home !== undefined ? { dir: join(opts.home, ".labdaemon"), label: "~/.labdaemon" } : userConfigFolder();
    this.runDir = new RunDir(opts.runDir);
    this.stopBy = opts.stopBy ?? (process.platform === "win32" ? "file" : "signal");
  }

  /** Finds the configuration as `serve` does (a --config that does not exist is the caller's error). */
  static async open(opts: SupervisorOptions): Promise<Supervisor> {
    const s = new Supervisor(opts);
    const found = discoverConfig({
      flag: opts.configFlag,
      env: process.env.LABDAEMON_CONFIG || undefined,
      cwd: s.cwd,
      user: s.user,
    });
    if (found) {
      s.configFile = found.file;
      s.via = found.via;
      await s.reload();
    }
    s.orphans = new Orphans(s.runDir, s.launcherTicks);
    return s;
  }

  /** Where discovery looked, in its order, for the page to say when nothing was found. */
  searched(): string[] {
    const out: string[] = [];
    if (process.env.LABDAEMON_CONFIG) out.push(`$LABDAEMON_CONFIG (${process.env.LABDAEMON_CONFIG})`);
    for (const dir of [this.cwd, this.user.dir]) for (const e of EXTENSIONS) out.push(join(dir, CONFIG_BASENAME + e));
    return out;
  }

  async reload(): Promise<void> {
    if (!this.configFile) return;
    this.loadedMtime = mtimeOf(this.configFile);
    try {
      this.profiles = await readProfiles(this.configFile);
      this.configError = null;
    } catch (e) {
      // The last good profiles stay listed (running servers among them); the error is shown beside them.
      this.configError = configProblem((e as Error).message, this.configFile);
    }
  }

  /**
   * Re-reads the profiles when the file changed on disk since they were read (edited elsewhere). A .ts
   * configuration is a module: the runtime keeps its first import, so only a save from the page (or a new
   * launcher) shows its changes.
   */
  async refreshIfChanged(): Promise<void> {
    if (this.configFile && mtimeOf(this.configFile) !== this.loadedMtime) await this.reload();
  }

  logsOf(name: string): LogBuffer {
    this.profileOrServer(name);
    let b = this.logs.get(name);
    if (!b) this.logs.set(name, (b = new LogBuffer()));
    return b;
  }

  private profileOrServer(name: string): ProfileInfo | null {
    const p = this.profiles.find((x) => x.name === name) ?? null;
    if (!p && !this.servers.has(name)) {
      throw new HttpError(
        404,
        "ProfileNotFound",
        `no profile '${name}' in ${this.configFile ?? "(no configuration)"}`,
        { profile: name, profiles: this.profiles.map((x) => x.name) },
      );
    }
    return p;
  }

  list(): ProfileView[] {
    const names = [
      ...this.profiles.map((p) => p.name),
      ...[...this.servers.keys()].filter((n) => !this.profiles.some((p) => p.name === n)),
    ];
    return names.map((name) => this.view(name));
  }

  view(name: string): ProfileView {
    const p = this.profiles.find((x) => x.name === name);
    const s = this.servers.get(name);
    const running = s?.active === true;
    return {
      name,
      description: p?.description ?? "(no longer in the configuration)",
      host: s?.record.host ?? p?.host ?? "127.0.0.1",
      port: running ? s!.port : (p?.port ?? s?.port ?? 0),
      devices: p?.devices ?? [],
      state: s?.state ?? "stopped",
      pid: running ? s!.pid : null,
      healthy: s?.state === "healthy",
      started_at: running ? s!.record.started_at : null,
      uptime_s: s?.uptimeSeconds() ?? null,
      exit_code: s?.exitCode ?? null,
      keep_running: running ? s!.keepRunning : false,
      adopted: running ? s!.adopted : false,
      needs_restart: running && (!p || p.fingerprint !== s!.fingerprint),
      removed: !p,
      ...(s?.state === "crashed" ? { last_lines: s.lastLines() } : {}),
    };
  }

  async start(name: string, opts: { keepRunning?: boolean } = {}): Promise<ProfileView> {
    this.refuseWhileQuitting(`start '${name}'`, { profile: name });
    const p = this.profileOrServer(name);
    if (!p)
      throw new HttpError(
        409,
        "ProfileRemoved",
        `profile '${name}' is no longer in the configuration; it can only be stopped`,
        { profile: name },
      );
    if (this.configError)
      throw new HttpError(
        409,
        "ConfigInvalid",
        `the configuration does not load, fix it first: ${this.configError.message}`,
        { profile: name },
      );
    const current = this.servers.get(name);
    if (current?.active)
      throw new HttpError(
        409,
        "AlreadyRunning",
        `profile '${name}' is already running (PID ${current.pid}, ${current.state})`,
        { profile: name, pid: current.pid },
      );
    await checkPortFree(p, this.servers.values());
    // Checked after the await: a quit that began meanwhile must not be outlived by a server started now.
    this.refuseWhileQuitting(`start '${name}'`, { profile: name });
    let s: ManagedServer;
    try {
      s = ManagedServer.start(p, this.configFile!, this.runDir, {
        keepRunning: opts.keepRunning === true,
        cwd: dirname(this.configFile!),
        launcherTicks: this.launcherTicks,
        logs: this.logsOf(name),
        stopBy: this.stopBy,
      });
    } catch (e) {
      throw new HttpError(500, "SpawnFailed", `cannot start a server for '${name}': ${(e as Error).message}`, {
        profile: name,
      });
    }
    this.servers.set(name, s);
    this.schedule(0);
    return this.view(name);
  }

  async stop(name: string): Promise<ProfileView> {
    this.profileOrServer(name);
    const s = this.servers.get(name);
    if (!s?.active) throw new HttpError(409, "NotRunning", `profile '${name}' is not running`, { profile: name });
    await s.stop();
    return this.view(name);
  }

  // ------------------------------------------------------------ health

  /** One timer for all servers, re-armed after each round; none while nothing runs. */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    try {
      const active = [...this.servers.values()].filter((s) => s.active);
      await Promise.all(
        active.map((s) =>
          s
            .poll()
            .catch((e) => console.error(`labdaemon launcher: checking '${s.profile}' failed: ${(e as Error).message}`)),
        ),
      );
    } finally {
      // Whatever one round met, the next one comes: no server goes unwatched.
      const still = [...this.servers.values()].filter((s) => s.active);
      if (still.length > 0)
        this.schedule(still.some((s) => s.state === "starting") ? STARTING_INTERVAL_MS : HEALTH_INTERVAL_MS);
    }
  }

  // ------------------------------------------------------------ orphans

  orphanList(): OrphanView[] {
    return this.orphans.list(this.adoption());
  }

  adopt(id: string): ProfileView {
    this.refuseWhileQuitting(`adopt '${id}'`, { id });
    const s = this.orphans.adopt(id, this.adoption(), (profile) => this.logsOf(profile));
    this.servers.set(s.profile, s);
    this.schedule(0);
    return this.view(s.profile);
  }

  stopOrphan(id: string): Promise<void> {
    return this.orphans.stop(id);
  }

  forget(id: string): void {
    this.orphans.forget(id);
  }

  private adoption(): AdoptionContext {
    return {
      configFile: this.configFile,
      profiles: this.profiles,
      runs: (profile) => this.servers.get(profile)?.active === true,
    };
  }

  // ------------------------------------------------------------ configuration

  configText(): Record<string, unknown> {
    if (!this.configFile) {
      return {
        file: null,
        exists: false,
        searched: this.searched(),
        suggested: join(this.cwd, `${CONFIG_BASENAME}.yaml`),
      };
    }
    const file = this.configFile;
    const answer = { file, via: this.via, format: extname(file).slice(1).toLowerCase() };
    try {
      return { ...answer, exists: true, text: readFileSync(file, "utf8"), error: this.configError?.context ?? null };
    } catch (e) {
      // Deleted or made unreadable behind the launcher's back: the editor still opens, and a save writes it again.
      return {
        ...answer,
        exists: existsSync(file),
        text: "",
        error: { file, problem: `cannot read it (${(e as Error).message}); saving writes it again` },
      };
    }
  }

  async saveConfig(text: string): Promise<ProfileView[]> {
    if (!this.configFile)
      throw new HttpError(
        409,
        "NoConfig",
        'no configuration file yet: create one first (POST /api/config with {"path": …})',
      );
    this.profiles = await saveConfig(this.configFile, text);
    this.configError = null;
    this.loadedMtime = mtimeOf(this.configFile);
    return this.list();
  }

  /** Writes the template at `path` (relative to the launcher's folder) and makes it this launcher's configuration. */
  async createConfig(path: string): Promise<Record<string, unknown>> {
    if (this.configFile)
      throw new HttpError(409, "ConfigExists", `this launcher already uses ${this.configFile}`, {
        file: this.configFile,
      });
    const file = isAbsolute(path) ? path : resolve(this.cwd, path);
    const ext = extname(file).toLowerCase();
    if (![".yaml", ".yml", ".json"].includes(ext))
      throw new HttpError(
        400,
        "InvalidRequest",
        `a new configuration must end in .yaml, .yml or .json, got '${path}'`,
        { path },
      );
    if (existsSync(file))
      throw new HttpError(
        409,
        "FileExists",
        `${file} already exists; start the launcher with --config ${file} to use it`,
        { path: file },
      );
    if (!existsSync(dirname(file)) || !statSync(dirname(file)).isDirectory())
      throw new HttpError(400, "InvalidRequest", `folder ${dirname(file)} does not exist`, { path: file });
    try {
      writeFileSync(file, ext === ".json" ? TEMPLATE_JSON : TEMPLATE_YAML, { flag: "wx" });
    } catch (e) {
      throw new HttpError(400, "InvalidRequest", `cannot write ${file}: ${(e as Error).message}`, { path: file });
    }
    this.configFile = file;
    this.via = "created";
    await this.reload();
    return this.configText();
  }

  // ------------------------------------------------------------ quitting

  private refuseWhileQuitting(what: string, context: Record<string, unknown>): void {
    if (this.closed) throw new HttpError(503, "Quitting", `the launcher is quitting: it cannot ${what} now`, context);
  }

  /**
   * Stops every server not marked "keep running" (in parallel, each within its bound); leaves the others.
   * Starts and adoptions are refused from now on; one that got in all the same is stopped in another round.
   */
  async close(): Promise<{ stopped: string[]; kept: string[] }> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const stopped: string[] = [];
    const kept: string[] = [];
    const handled = new Set<ManagedServer>();
    for (;;) {
      const round = [...this.servers.values()].filter((s) => s.active && !handled.has(s));
      if (round.length === 0) break;
      await Promise.all(
        round.map(async (s) => {
          handled.add(s);
          if (s.keepRunning) {
            kept.push(s.profile);
            s.release();
          } else {
            stopped.push(s.profile);
            // One that cannot be signalled must not keep the launcher from quitting.
            await s
              .stop()
              .catch((e) =>
                console.error(
                  `labdaemon launcher: stopping '${s.profile}' (PID ${s.pid}) failed: ${(e as Error).message}`,
                ),
              );
          }
        }),
      );
    }
    return { stopped, kept };
  }
}

function mtimeOf(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}
