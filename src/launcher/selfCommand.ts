// How to run this very executable again: the compiled binary runs itself; from source, bun runs main.ts.
import { resolve } from "node:path";

/**
 * A compiled executable's entry lives in Bun's virtual file system ("/$bunfs/…", "B:/~BUN/…" on Windows).
 * Bun.main, not import.meta: the bundler bakes import.meta paths in at build time.
 */
export const isCompiled = Bun.main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(Bun.main);

/** argv for `labdaemon ARGS…` of the same version as the running launcher. */
export function selfCommand(args: string[]): string[] {
  return isCompiled
    ? [process.execPath, ...args]
    : [process.execPath, resolve(import.meta.dir, "../cli/main.ts"), ...args];
}
