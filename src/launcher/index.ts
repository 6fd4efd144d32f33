// `labdaemon launcher` as a library: the supervisor and its HTTP side, started and quit together.
import type { StopBy } from "./server.ts";
import { serveLauncher, type LauncherHttp } from "./http.ts";
import { runDirectory } from "./runDir.ts";
import { Supervisor } from "./supervisor.ts";

export { Supervisor } from "./supervisor.ts";
export type { ProfileView, OrphanView } from "./supervisor.ts";

export interface Launcher {
  supervisor: Supervisor;
  http: LauncherHttp;
  /** Resolves once the launcher quit (POST /api/quit or quit()). */
  done: Promise<{ stopped: string[]; kept: string[] }>;
  /** Stops the servers not kept running, then the HTTP side. Idempotent. */
  quit(): Promise<{ stopped: string[]; kept: string[] }>;
}

export async function startLauncher(opts: {
  configFlag?: string;
  port: number;
  cwd?: string;
  home?: string;
  secret?: string;
  runDir?: string;
  /** How servers are asked to stop (default: SIGTERM; on Windows, which has no signals, a stop file). */
  stopBy?: StopBy;
}): Promise<Launcher> {
  const supervisor = await Supervisor.open({
    configFlag: opts.configFlag,
    cwd: opts.cwd,
    home: opts.home,
    runDir: opts.runDir ?? runDirectory(),
    stopBy: opts.stopBy,
  });
  let quitting: Promise<{ stopped: string[]; kept: string[] }> | null = null;
  let finished!: (r: { stopped: string[]; kept: string[] }) => void;
  const done = new Promise<{ stopped: string[]; kept: string[] }>((r) => (finished = r));
  const quit = () => {
    quitting ??= (async () => {
      const result = await supervisor.close();
      await http.server.stop(true);
      finished(result);
      return result;
    })();
    return quitting;
  };
  const http = serveLauncher(supervisor, { port: opts.port, secret: opts.secret, onQuit: () => void quit() });
  return { supervisor, http, done, quit };
}
