// How to run this very executable again: the compiled binary runs itself; from source, bun runs main.ts.
import { resolve } from "node:path";

/** Files of a compiled executable live in Bun's virtual file system ("/$bunfs/…", "B:/~BUN/…" on Windows). */
export const isCompiled = import.meta.path.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(import.meta.path);

/** argv for `labdaemon ARGS…` of the same version as the running launcher. */
export function selfCommand(args: string[]): string[] {
  return isCompiled ? [process.execPath, ...args] : [process.execPath, resolve(import.meta.dir, "../cli/main.ts"), ...args];
}
