// A real LabDaemonServer on a loopback port for black-box API tests, with the fixture classes registered.
import { LabDaemon } from "../../src/index.ts";
import { catalogued } from "../../src/server/errorCatalogue.ts";
import { LabDaemonServer, type LabDaemonServerOptions, type ServerLogger } from "../../src/server/index.ts";
import { deviceClasses, taskClasses } from "./fixtures.ts";

export interface TestServer {
  daemon: LabDaemon;
  server: LabDaemonServer;
  url: string;
  lines: string[];
  /** JSON in, status + parsed body out (body null when empty). */
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResult>;
  close(): Promise<void>;
}

export interface ApiResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** Records log lines instead of printing them. */
export function captureLogger(lines: string[]): ServerLogger {
  return {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

export async function startTestServer(
  opts: LabDaemonServerOptions & { completedTaskBuffer?: number } = {},
): Promise<TestServer> {
  const daemon = new LabDaemon({ completedTaskBuffer: opts.completedTaskBuffer ?? 20 });
  daemon.registerPlugins({ devices: deviceClasses, tasks: taskClasses });
  const lines: string[] = [];
  const server = new LabDaemonServer(daemon, { port: 0, logger: captureLogger(lines), logLevel: "debug", ...opts });
  await server.start();
  const url = server.url;
  return {
    daemon,
    server,
    url,
    lines,
    req: jsonRequester(url),
    async close() {
      await server.stop({ timeoutMs: 2000 });
      await daemon.shutdown({ timeoutMs: 2000 });
    },
  };
}

/** `req(method, path, body?, headers?)` against `url`: JSON in, status + parsed body out (body null when empty). */
export function jsonRequester(url: string): TestServer["req"] {
  return async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    const res = await fetch(url + path, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    const wrong = uncataloguedError(res.status, parsed);
    if (wrong) throw new Error(`${method} ${path.slice(0, 200)}: ${wrong}`);
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
}

/**
 * Why an error response breaks the error catalogue, or null: its type must be catalogued as sent over HTTP
 * with this status, unless it is what device code threw (origin device), which passes under its own name.
 */
export function uncataloguedError(status: number, body: any): string | null {
  if (status < 400 || !isEnvelope(body)) return null;
  const { type, origin } = body.error;
  const entry = catalogued(type);
  if (!entry) return origin === "device" ? null : `error type '${type}' (origin ${origin}) is not catalogued`;
  if (!entry.channels.includes("http")) return `error type '${type}' is not catalogued as an HTTP response`;
  const statuses = [entry.status, ...(entry.also ?? [])];
  // A catalogued framework error raised inside device code keeps its type, with the device's status.
  if (!statuses.includes(status) && origin !== "device")
    return `error type '${type}' came with ${status}, catalogued with ${statuses.join(" or ")}`;
  return null;
}

/** Asserts the contract's envelope: {error:{type,message,origin,timestamp,context}} and nothing else. */
export function isEnvelope(body: any): boolean {
  if (!body || typeof body !== "object" || Object.keys(body).length !== 1 || !body.error) return false;
  const e = body.error;
  return (
    typeof e.type === "string" &&
    typeof e.message === "string" &&
    ["framework", "device", "callback"].includes(e.origin) &&
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/.test(e.timestamp) &&
    e.context !== null &&
    typeof e.context === "object" &&
    !Array.isArray(e.context) &&
    !("traceback" in e) &&
    !("stack" in e)
  );
}

/** A small deterministic PRNG in [0, 1), so a generated test case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}
