// A stop request by file, for a server another program started where there are no signals to send (the
// launcher's Stop on Windows, where killing is TerminateProcess: no shutdown at all). The starter names a
// file in LABDAEMON_STOP_FILE; once it exists, the server stops exactly as on SIGTERM.
import { existsSync, rmSync } from "node:fs";

export const STOP_FILE_VAR = "LABDAEMON_STOP_FILE";
/** How often the file is looked for: a stat, a few times a second, is nothing beside a server's work. */
const LOOK_MS = 200;

/** Calls `onStop` once, when `path` appears (it is removed then); the returned function stops looking. */
export function watchStopFile(path: string | undefined, onStop: () => void): () => void {
  if (!path) return () => {};
  const timer = setInterval(() => {
    if (!existsSync(path)) return;
    clearInterval(timer);
    rmSync(path, { force: true });
    onStop();
  }, LOOK_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
