// Runs the compiled executable the way a user does: copied alone into an empty folder (no
// node_modules, no sources beside it), with its own HOME so no personal config leaks in.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compileExecutable } from "../../tools/compile.ts";

const ROOT = resolve(import.meta.dir, "../..");
const PREFIX = "ld-e2e-";
let prepared: Promise<{ dir: string; exe: string }> | null = null;
/** A hang guard for compiling the executable (a beforeAll in each e2e file): minutes on a loaded machine. */
export const COMPILE_GUARD_MS = 300_000;
/**
 * How long a wait for something that must happen (a ready line, an exit, an answer, an event) may take:
 * a hang guard that a loaded machine does not trip, never a speed. A test that means to bound a duration
 * measures it and says what the bound proves.
 */
export const WAIT_MS = 60_000;
/** Each e2e file's default per-test bound (setDefaultTimeout): room for several waits of WAIT_MS. */
export const E2E_TEST_TIMEOUT_MS = 240_000;

/**
 * One copy of a fresh dist/labdaemon per test run, in `$TMPDIR/ld-e2e-<pid>`. bun test runs no exit
 * handlers, so a run cannot remove its own copy (~110 MB): each run removes those of runs that have ended.
 */
export function binary(): Promise<{ dir: string; exe: string }> {
  prepared ??= (async () => {
    removeEndedRuns();
    await compileExecutable(ROOT, { quiet: true });
    const dir = join(tmpdir(), `${PREFIX}${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const exe = join(dir, "labdaemon");
    copyFileSync(join(ROOT, "dist/labdaemon"), exe);
    chmodSync(exe, 0o755);
    return { dir, exe };
  })();
  return prepared;
}

function removeEndedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(PREFIX.length));
    if (!name.startsWith(PREFIX) || !Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0); // still running: its copy is in use
    } catch {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** A fresh folder under the binary's own, with `files` written into it. */
export async function workspace(files: Record<string, string> = {}): Promise<string> {
  const { dir } = await binary();
  const ws = mkdtempSync(join(dir, "ws-"));
  mkdirSync(join(ws, "home"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(ws, name), text);
  return ws;
}

function envFor(cwd: string, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(cwd, "home"),
    TMPDIR: tmpdir(),
  };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export interface Finished {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command that is expected to end by itself within `timeoutMs`. */
export async function run(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Finished> {
  const { exe } = await binary();
  const proc = Bun.spawn([exe, ...args], {
    cwd: opts.cwd,
    env: envFor(opts.cwd, opts.env ?? {}),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? WAIT_MS);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

export interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  /** The match of the line waited for. */
  match: RegExpExecArray;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit status and how long it took; SIGKILL after `timeoutMs`. */
  terminate(timeoutMs?: number): Promise<{ exitCode: number | null; ms: number }>;
}

/** Starts the binary and resolves once its stdout matches `ready`; rejects if it exits or stays silent. */
export async function start(
  args: string[],
  ready: RegExp,
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Running> {
  const { exe } = await binary();
  const proc = Bun.spawn([exe, ...args], {
    cwd: opts.cwd,
    env: envFor(opts.cwd, opts.env ?? {}),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  let matched: (m: RegExpExecArray) => void;
  const seen = new Promise<RegExpExecArray>((r) => (matched = r));
  void pump(proc.stdout as ReadableStream<Uint8Array>, (s) => {
    out += s;
    const m = ready.exec(out);
    if (m) matched(m);
  });
  void pump(proc.stderr as ReadableStream<Uint8Array>, (s) => (err += s));
  const limit = opts.timeoutMs ?? WAIT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    seen,
    proc.exited.then(
      (code) => new Error(`labdaemon ${args.join(" ")} exited with ${code} before printing ${ready}:\n${err}${out}`),
    ),
    new Promise<Error>(
      (r) =>
        (timer = setTimeout(
          () => r(new Error(`labdaemon ${args.join(" ")} did not print ${ready} within ${limit} ms:\n${err}${out}`)),
          limit,
        )),
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
    stdout: () => out,
    stderr: () => err,
    async terminate(timeoutMs = 20_000) {
      const t0 = performance.now();
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const exitCode = await proc.exited;
      clearTimeout(killer);
      return { exitCode, ms: performance.now() - t0 };
    },
  };
}

export interface Served extends Running {
  url: string;
  port: number;
}

/** `labdaemon serve …`, resolved once it has announced its address. */
export async function serve(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Served> {
  const r = await start(["serve", ...args], /serving .* on (http:\/\/[^\s:]+:(\d+))/, opts);
  return { ...r, url: r.match[1]!, port: Number(r.match[2]) };
}

/** JSON over HTTP with an optional bearer token; the status and parsed body. */
export async function http(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** Polls until `check` returns a value (not undefined) or `timeoutMs` passes. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = WAIT_MS,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reads SSE `data:` objects from a response until `enough` says so; then aborts the connection. */
export async function readEvents(
  res: Response,
  enough: (events: any[]) => boolean,
  controller: AbortController,
  timeoutMs = WAIT_MS,
): Promise<any[]> {
  const events: any[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (data) events.push(JSON.parse(data));
      }
      if (enough(events)) break;
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (!enough(events)) throw new Error(`stream ended after ${events.length} events without the expected ones`);
  return events;
}
