// Launcher tests' helpers: a lab folder with its own run directory, the launcher's API over its real
// loopback socket, and waits on its state with a bound.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { catalogued } from "../../src/server/errorCatalogue.ts";

export const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

/** A two-profile lab on free ports, plus one whose device cannot connect (its server exits with 1). */
export const LAB_YAML = `configs:
  alpha:
    description: Laser bench
    port: 0
    devices:
      laser1: { type: SimLaser, connect: true }
  beta:
    description: Power meter
    port: 0
    devices:
      pm1: { type: SimPowerMeter, connect: true }
  broken:
    port: 0
    devices:
      dmm: { type: ScpiInstrument, params: { resource: "TCPIP0::127.0.0.1::1::SOCKET", timeoutMs: 500 }, connect: true }
`;

export interface LabDir {
  dir: string;
  runDir: string;
  config: string;
}

const made: string[] = [];

export function labDir(files: Record<string, string> = { "lab_servers.yaml": LAB_YAML }): LabDir {
  const dir = mkdtempSync(join(tmpdir(), "ld-launcher-"));
  made.push(dir);
  const runDir = join(dir, "run");
  mkdirSync(join(dir, "home"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, runDir, config: join(dir, "lab_servers.yaml") };
}

/** Removes the folders labDir() made in this file's run (bun test runs no exit handlers). */
export function removeLabDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

/** One API call; `token: null` sends none. */
export async function call(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const h: Record<string, string> = { ...headers };
  if (token !== null) h.authorization = `Bearer ${token}`;
  const res = await fetch(new URL(path, base), {
    method,
    headers: h,
    signal: AbortSignal.timeout(15_000),
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  const type = res.status >= 400 ? (parsed as any)?.error?.type : undefined;
  // The launcher (and the servers it runs) send only catalogued error types, with their statuses.
  const entry = typeof type === "string" ? catalogued(type) : undefined;
  if (type !== undefined && (!entry || ![entry.status, ...(entry.also ?? [])].includes(res.status)))
    throw new Error(`${method} ${path}: ${res.status} with error type '${type}', not so in the error catalogue`);
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls until `check` gives a value, at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A profile's view once it has reached `state`. */
export function profileIn(base: string, token: string, name: string, state: string, timeoutMs?: number): Promise<any> {
  return waitFor(
    `profile ${name} ${state}`,
    async () => {
      const { body } = await call(base, token, "GET", `/api/profiles/${name}`);
      return body.state === state ? body : undefined;
    },
    timeoutMs,
  );
}

/** A process that exists and is not a zombie (an exited child not yet reaped still has its /proc entry). */
export const procExists = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(safeStat(pid));

function safeStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "";
  }
}

/** `labdaemon launcher` from the sources as its own process; resolves with its URL and secret. */
export async function spawnLauncher(
  lab: LabDir,
  opts: { open?: boolean; env?: Record<string, string>; ownGroup?: boolean } = {},
): Promise<{ proc: ReturnType<typeof Bun.spawn>; base: string; token: string; stderr: () => string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("LABDAEMON_") && k !== "XDG_RUNTIME_DIR") env[k] = v;
  env.LABDAEMON_RUN_DIR = lab.runDir;
  env.HOME = join(lab.dir, "home");
  Object.assign(env, opts.env);
  const args = ["launcher", "--port", "0", ...(opts.open ? [] : ["--no-open"])];
  // ownGroup: its own process group, as a shell gives a foreground job (Ctrl-C signals the whole group).
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: lab.dir,
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    detached: opts.ownGroup === true,
  });
  let out = "";
  let err = "";
  void (async () => {
    for await (const c of proc.stderr as ReadableStream<Uint8Array>) err += new TextDecoder().decode(c);
  })();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const deadline = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  while (!/token=\S+\n/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`launcher exited before printing its URL:\n${err}${out}`);
    out += new TextDecoder().decode(value);
  }
  clearTimeout(deadline);
  reader.releaseLock();
  const m = /(http:\/\/127\.0\.0\.1:\d+\/)\?token=(\S+)/.exec(out)!;
  return { proc, base: m[1]!, token: m[2]!, stderr: () => err };
}

/** A launcher process starts `profile`, then dies by SIGKILL: the server's PID, left running. */
export async function orphanedServer(lab: LabDir, profile: string): Promise<number> {
  const first = await spawnLauncher(lab);
  try {
    await call(first.base, first.token, "POST", `/api/profiles/${profile}/start`);
    return (await profileIn(first.base, first.token, profile, "healthy")).pid;
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
}
