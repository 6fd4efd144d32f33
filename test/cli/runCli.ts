// Runs `labdaemon` from the sources (src/cli/main.ts) as its own process, the way a user meets its exit
// status, stdout bytes and stderr lines; no LABDAEMON_* variable of the test's environment leaks in.
import { resolve } from "node:path";

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

export interface CliResult {
  exitCode: number | null;
  /** The raw bytes: answers may be binary. */
  stdout: Buffer;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const proc = spawnCli(args, opts);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout: Buffer.from(stdout), stderr };
}

/** Starts `labdaemon` from the sources without waiting for it: for a test that signals it, or reads it as it runs. */
export function spawnCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("LABDAEMON_")) env[k] = v;
  return Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: opts.cwd,
    env: { ...env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: opts.timeoutMs ?? 10_000,
  });
}
