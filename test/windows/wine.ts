// Runs dist/labdaemon.exe under Debian's wine for test/windows: a scratch folder holding a copy of the
// executable, the test-only bcryptprimitives.dll (wine 8 lacks it; real Windows has it) and the stand-in
// VISA library, and a wine prefix of its own kept in build/windows (creating one takes ~15 s).
import { $ } from "bun";
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const EXE = join(ROOT, "dist/labdaemon.exe");
const WINE = ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"].find((p) => existsSync(p));
const PREFIX = join(ROOT, "build/windows/wineprefix");
export const SCRATCH = join(ROOT, "build/windows/winetest");

export function wineMissing(): string | null {
  if (!WINE) return "wine64 is not installed (apt-get install --no-install-recommends wine64)";
  if (!Bun.which("x86_64-w64-mingw32-gcc")) return "mingw-w64 is not installed (apt-get install mingw-w64)";
  if (!existsSync(EXE)) return `${EXE} is missing: bun build.ts --target windows-x64`;
  return null;
}

/** The scratch folder with the executable, the wine shim and the stand-in VISA library (as visa64.dll). */
export async function prepare(): Promise<void> {
  mkdirSync(SCRATCH, { recursive: true });
  const exe = join(SCRATCH, "labdaemon.exe");
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(EXE).mtimeMs) copyFileSync(EXE, exe);
  const cc = "x86_64-w64-mingw32-gcc";
  const shim = join(SCRATCH, "bcryptprimitives.dll");
  if (!existsSync(shim))
    await $`${cc} -shared -O2 -o ${shim} ${join(import.meta.dir, "bcryptprimitives.c")} -ladvapi32`.quiet();
  const visa = join(SCRATCH, "visa64.dll");
  if (!existsSync(visa) || statSync(visa).mtimeMs < statSync(join(import.meta.dir, "visa_standin.c")).mtimeMs)
    await $`${cc} -shared -O2 -o ${visa} ${join(import.meta.dir, "visa_standin.c")} -lws2_32`.quiet();
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...(process.env as Record<string, string>), WINEPREFIX: PREFIX, WINEDEBUG: "-all", ...extra };
}

export interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** labdaemon.exe ARGS to completion. Windows sees the environment through wine (WINEDLLOVERRIDES etc.). */
export function runExe(args: string[], extraEnv: Record<string, string> = {}): Promise<Ran> {
  return runWine([join(SCRATCH, "labdaemon.exe"), ...args], extraEnv);
}

/** A Windows program (a path, or a name wine finds in C:\Windows\System32 such as sc.exe) to completion. */
export async function runWine(command: string[], extraEnv: Record<string, string> = {}): Promise<Ran> {
  const proc = Bun.spawn([WINE!, ...command], {
    cwd: SCRATCH,
    env: env(extraEnv),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

export interface Started {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  match: RegExpExecArray;
  output(): string;
  stop(): Promise<void>;
}

/** Starts labdaemon.exe ARGS and resolves once its stdout matches `ready`. */
export async function startExe(args: string[], ready: RegExp, timeoutMs = 120_000): Promise<Started> {
  const proc = Bun.spawn([WINE!, join(SCRATCH, "labdaemon.exe"), ...args], {
    cwd: SCRATCH,
    env: env(),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let out = "";
  let matched: (m: RegExpExecArray) => void;
  const seen = new Promise<RegExpExecArray>((r) => (matched = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      const m = ready.exec(out);
      if (m) matched(m);
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    seen,
    proc.exited.then((code) => new Error(`labdaemon.exe ${args.join(" ")} exited with ${code}:\n${out}`)),
    new Promise<Error>(
      (r) => (timer = setTimeout(() => r(new Error(`no ${ready} within ${timeoutMs} ms:\n${out}`)), timeoutMs)),
    ),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) {
    proc.kill("SIGKILL");
    throw outcome;
  }
  return {
    proc,
    match: outcome,
    output: () => out,
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

const WINESERVER = ["/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver", "/usr/bin/wineserver"].find((p) =>
  existsSync(p),
);

/** Ends this prefix's wineserver and whatever still runs in it (only ours: the prefix is ours). */
export async function shutDownWine(): Promise<void> {
  if (WINESERVER) await $`${WINESERVER} -k`.env(env()).quiet().nothrow();
}

/**
 * Restarts this prefix's wineserver as persistent. Wine shuts a prefix down a few seconds after its last
 * ordinary process exits, and services with it (a service process counts as a system process): a service
 * started by `sc.exe start` would get SERVICE_CONTROL_SHUTDOWN moments after sc.exe returns.
 */
export async function keepWineUp(): Promise<void> {
  if (!WINESERVER) throw new Error("wineserver is not installed");
  // On a fresh clone the prefix does not exist yet, and wineserver refuses a prefix it cannot chdir to;
  // wineboot below fills an empty one.
  mkdirSync(PREFIX, { recursive: true });
  await shutDownWine();
  await $`${WINESERVER} -w`.env(env()).quiet().nothrow();
  // It stays on in the background holding whatever output it was given: none, or reading it would never end.
  const server = Bun.spawn([WINESERVER, "-p"], { env: env(), stdio: ["ignore", "ignore", "ignore"] });
  if ((await server.exited) !== 0) throw new Error(`wineserver -p exited with ${server.exitCode}`);
  // Booted the same way: services.exe and the services it starts keep the output of the process that
  // booted the prefix, and a test reading a program's output to its end would wait for the prefix to end.
  const boot = Bun.spawn([WINE!, "wineboot.exe"], { env: env(), stdio: ["ignore", "ignore", "ignore"] });
  if ((await boot.exited) !== 0) throw new Error(`wineboot exited with ${boot.exitCode}`);
}

/** A Windows path in this prefix (C:\…, or Z:\… for the Linux root) as a Linux path. */
export function linuxPath(windowsPath: string): string {
  const m = /^([A-Za-z]):\\(.*)$/.exec(windowsPath);
  if (!m) throw new Error(`not an absolute Windows path: ${windowsPath}`);
  const rest = m[2]!.split("\\").join("/");
  return m[1]!.toUpperCase() === "Z" ? `/${rest}` : join(PREFIX, `drive_${m[1]!.toLowerCase()}`, rest);
}
