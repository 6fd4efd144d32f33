// LabDaemonServer: one daemon served over HTTP. Requests pass CORS, token and body-size checks here, then
// go to the Elysia app (routes/), whose every failure leaves through `onError` as the error envelope.
import { Elysia } from "elysia";
import type { Server } from "bun";
import type { Ownership } from "../core/ownership.ts";
import type { LabDaemon } from "../core/daemon.ts";
import { withDeadline } from "../core/deadline.ts";
import { ID_PATTERN } from "../core/ids.ts";
import { TokenAuth } from "./auth.ts";
import { RequestDrain } from "./drain.ts";
import { CorsPolicy } from "./cors.ts";
import { docsRoutes } from "./docs.ts";
import { ErrorStore } from "./errorStore.ts";
import { HttpError, envelope, errorResponse, mapError } from "./errors.ts";
import { assertRequestTarget } from "./requestTarget.ts";
import { hostAllowed, hostCheckFor, isLoopbackAddress, type HostCheck } from "./hosts.ts";
import { LEASE_HEADER, type RouteContext } from "./routes/context.ts";
import { typeRoutes } from "./routes/types.ts";
import { callHandler, deviceRoutes } from "./routes/devices.ts";
import { metaRoutes } from "./routes/meta.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { leaseRoutes } from "./routes/leases.ts";
import { runRoutes } from "./routes/runs.ts";
import type { DataStore } from "../data/dataStore.ts";
import { uiResponse } from "./routes/ui.ts";
import { SseService, type SseOptions } from "./sse/index.ts";
import { LEVEL_RANK as LEVELS, type LogLevel, type ServerLogger } from "../log/levels.ts";
import { Logger } from "../log/logger.ts";

export type { LogLevel, ServerLogger } from "../log/levels.ts";

export interface LabDaemonServerOptions {
  /** Interface to bind. Default 127.0.0.1; anything else without a token logs a warning and serves only IP-address Host names. */
  host?: string;
  /** Default 5000; 0 picks a free port (read it from `server.port` after start). */
  port?: number;
  /** When set, every route but /health needs `Authorization: Bearer <token>` (SSE and /swagger also `?token=`). */
  token?: string;
  /** Origins allowed for cross-origin browser requests, e.g. ["http://lab-dashboard:8080"]. Same-origin always works. */
  cors?: string[];
  /** Lowest level logged. Default "info" (one line per request; /health at debug). */
  logLevel?: LogLevel;
  /** Where log lines go. Default: a `Logger` (src/log) writing timestamped lines to stdout/stderr in batches. */
  logger?: ServerLogger;
  /** Bound on connect/disconnect requests, ms. Default 30000. */
  connectTimeoutMs?: number;
  /** Bound on POST /devices/{id}/call for devices without a callTimeoutMs of their own, ms (504 after it). Default 60000. */
  callTimeoutMs?: number;
  /** Bound on stream stop and device removal requests, ms. Default 2000. */
  stopTimeoutMs?: number;
  /** Bound on a task's setParameter/getParameter behind the parameter routes, ms. Default 30000. */
  parameterTimeoutMs?: number;
  /** Largest request body accepted, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Seconds a client may stay silent while sending a request (headers or body) before it is cut off. Default 10. */
  idleTimeoutSeconds?: number;
  sse?: SseOptions;
  /** A data directory (DataStore.open): task history across restarts, recordings, /runs. Closed by its owner. */
  data?: DataStore;
}

const MAX_BODY_BYTES = 1 << 20;
const MAX_REPORTED_ERRORS = 20;
/** Part of a stop's budget kept for answering 503 to the requests still in flight, ms. */
const STOP_FLUSH_MS = 200;
/** GET /tasks/{id}/parameters/{key}: runs the task's own getParameter, bounded by parameterTimeoutMs. */
const PARAMETER_READ = /^\/tasks\/[^/]+\/parameters\/[^/]+$/;

/** One server per daemon at a time (a second would fight over ownership and SSE). */
const served = new WeakSet<LabDaemon>();

export class LabDaemonServer {
  /** Which task owns which device: the daemon's own record (tasks started anywhere claim there). */
  get ownership(): Ownership {
    return this.daemon.ownership;
  }
  readonly errors: ErrorStore;
  readonly sse: SseService;
  /**
   * The socket each request came on, by the request routed (a re-anchored copy included): idle timeouts
   * belong to the request Bun handed us, not to a copy.
   */
  private readonly sockets = new WeakMap<Request, { srv: Server<unknown>; request: Request }>();
  /** The Elysia app; `server.fetch(request)` runs a request through the whole server without a socket. */
  readonly app: Elysia<any, any, any, any, any, any, any>;
  private server: Server<unknown> | null = null;
  private readonly drain = new RequestDrain();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly auth: TokenAuth | null;
  private readonly cors: CorsPolicy;
  private readonly logger: ServerLogger;
  private readonly level: number;
  private readonly maxBodyBytes: number;
  private readonly idleTimeoutSeconds: number;
  /**
   * Without a token, only Host names DNS cannot rebind are served (loopback names; on a wider bind IP
   * addresses too). A web page whose DNS name is rebound to the server's address is "same-origin" with
   * it and would otherwise drive the instruments.
   */
  private readonly hostCheck: HostCheck | null;
  private allowMatchers: { method: string; re: RegExp }[] | null = null;
  private readonly callDevice: (deviceId: string, body: unknown, leaseId?: string) => Promise<Response>;

  constructor(
    readonly daemon: LabDaemon,
    opts: LabDaemonServerOptions = {},
  ) {
    this.host = opts.host ?? "127.0.0.1";
    this.requestedPort = opts.port ?? 5000;
    if (!Number.isInteger(this.requestedPort) || this.requestedPort < 0 || this.requestedPort > 65535) {
      throw new RangeError(`port must be an integer 0..65535, got ${opts.port}`);
    }
    this.auth = opts.token !== undefined ? new TokenAuth(opts.token) : null;
    this.cors = new CorsPolicy(opts.cors ?? []);
    // The server filters by its own level; the default logger writes whatever it is given.
    this.logger = opts.logger ?? new Logger({ level: "debug" });
    this.level = LEVELS[opts.logLevel ?? "info"] ?? LEVELS.info;
    this.maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    this.idleTimeoutSeconds = Math.min(255, Math.max(1, Math.round(opts.idleTimeoutSeconds ?? 10)));
    this.hostCheck = hostCheckFor(this.host, this.auth !== null);
    this.errors = new ErrorStore(daemon);
    // Which task shutdown gave up on (it ignored its cancel, so its cleanup never ran) deserves a line.
    daemon.on("error", (e) => {
      if (e.error.name === "TaskAbandoned") this.log("warn", `labdaemon: ${e.error.message}`);
    });
    this.sse = new SseService(daemon, opts.sse ?? {});
    const ctx: RouteContext = {
      daemon,
      errors: this.errors,
      sse: this.sse,
      connectTimeoutMs: opts.connectTimeoutMs ?? 30_000,
      callTimeoutMs: opts.callTimeoutMs ?? 60_000,
      stopTimeoutMs: opts.stopTimeoutMs ?? 2000,
      parameterTimeoutMs: opts.parameterTimeoutMs ?? 30_000,
      data: opts.data ?? null,
    };
    this.callDevice = callHandler(ctx);
    const app: Elysia<any, any, any, any, any, any, any> = new Elysia()
      .onError({ as: "global" }, ({ code, error, request }) => this.errorToResponse(code, error, request))
      .use(metaRoutes())
      .use(typeRoutes(ctx))
      .use(deviceRoutes(ctx))
      .use(taskRoutes(ctx))
      .use(leaseRoutes({ ...ctx, forceAllowed: this.auth !== null }))
      .use(
        opts.data
          ? runRoutes(ctx, opts.data, (body, leaseId) =>
              this.app.handle(
                new Request(`${this.url}/tasks`, {
                  method: "POST",
                  headers: {
                    "content-type": "application/json",
                    ...(leaseId !== undefined ? { [LEASE_HEADER]: leaseId } : {}),
                  },
                  body: JSON.stringify(body),
                }),
              ),
            )
          : new Elysia(),
      )
      .use(this.sse.routes())
      .use(docsRoutes(() => app.routes as never, { token: this.auth !== null }));
    this.app = app;
  }

  /** The bound port once started (the real one when 0 was asked for). */
  get port(): number {
    return this.server?.port ?? this.requestedPort;
  }

  get url(): string {
    const host = this.host.includes(":") && !this.host.startsWith("[") ? `[${this.host}]` : this.host;
    return `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${this.port}`;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  /** Resolves once the socket listens; rejects if the port is taken or the daemon already has a server. */
  async start(): Promise<void> {
    if (this.server) return;
    if (served.has(this.daemon)) throw new Error("Only one server per LabDaemon instance is allowed");
    this.drain.reset();
    this.server = Bun.serve({
      hostname: this.host,
      port: this.requestedPort,
      // Bodies are bounded in `fetch`, which answers 413 with the envelope (at once when the declared
      // length is over the bound). Bun's own limit would answer first, bodiless: keep it out of the way.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // A client silent this long (headers or body still coming) is cut off; streams and device calls lift it.
      idleTimeout: this.idleTimeoutSeconds,
      fetch: (req, srv) => this.fetch(req, srv),
      error: (e) => {
        this.log("error", "labdaemon: unhandled server error", e);
        return errorResponse(
          500,
          envelope("InternalError", "The server failed to handle the request; see the server log."),
        );
      },
    });
    served.add(this.daemon);
    // A stream ended while its client stopped reading is never pulled again: only a short idle timeout on
    // its socket closes it (Bun checks timeouts every few seconds). Bun cannot close a socket otherwise.
    this.sse.closeSocket = (req) => this.setIdleTimeout(req, 1);
    // Elysia hands this to handlers as `server` (the SSE routes use it for per-request idle timeouts).
    (this.app as { server: unknown }).server = this.server;
    if (!this.auth && !isLoopbackAddress(this.host)) {
      this.log(
        "warn",
        `labdaemon: listening on ${this.host} without a token: anyone who can reach this port can drive the instruments (set a token)`,
      );
    }
  }

  /**
   * Stops listening, closes SSE streams and lets requests in flight finish; those still running near the
   * deadline are answered 503, then the sockets close. Bounded by `timeoutMs`.
   */
  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    this.server = null;
    const timeoutMs = Math.max(0, opts.timeoutMs ?? 5000);
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    this.drain.beginStop();
    // Resolves once every connection is done: idle ones close at once, busy ones after their answer.
    const closed = srv.stop(false);
    await withDeadline(this.sse.closeAll("server stopping"), left() / 2);
    // The last part of the budget is kept for writing the 503s.
    const answerBy = Math.max(1, left() - Math.min(STOP_FLUSH_MS, timeoutMs / 4));
    let graceful = await withDeadline(closed, answerBy);
    if (!graceful) {
      const late = this.drain.inFlight;
      if (late > 0)
        this.log("warn", `labdaemon: stopping: ${late} request(s) still running at the deadline answered 503`);
      this.drain.cut();
      graceful = await withDeadline(closed, left());
    }
    if (!graceful) void srv.stop(true);
    (this.app as { server: unknown }).server = null;
    served.delete(this.daemon);
    (this.logger as { flush?: () => void }).flush?.(); // a batching logger's last lines
  }

  /** Sets the idle timeout (seconds; 0: none) of the socket `request` came on; nothing without a socket. */
  private setIdleTimeout(request: Request, seconds: number): void {
    const socket = this.sockets.get(request);
    if (!socket) return;
    try {
      socket.srv.timeout(socket.request, seconds);
    } catch {
      // the request is already over
    }
  }

  /** Runs one request through CORS, auth, the body bound and the app; logs one line. */
  async fetch(request: Request, srv?: Server<unknown>): Promise<Response> {
    const t0 = performance.now();
    const { path, origin } = splitUrl(request.url);
    const socket = srv ? { srv, request } : null;
    // Elysia looks for the path from character 11 of the URL on. A short Host header ("Host: x") would
    // let it route `/health?x=/devices` to /devices while auth saw /health: re-anchor such URLs first.
    if (origin.length < MIN_ORIGIN_LENGTH) request = new Request(this.url + request.url.slice(origin.length), request);
    if (socket) this.sockets.set(request, socket);
    let res: Response;
    try {
      res = this.drain.stopping ? this.drain.refused() : await this.drain.track(this.dispatch(request, path, origin));
    } catch (e) {
      res = this.toResponse(e, request);
    }
    this.logRequest(request.method, path, res.status, performance.now() - t0);
    return res;
  }

  private async dispatch(request: Request, path: string, selfOrigin: string): Promise<Response> {
    if (this.hostCheck && !hostAllowed(hostName(selfOrigin), this.hostCheck)) {
      const host = hostName(selfOrigin).slice(0, 200);
      throw new HttpError(
        403,
        "HostNotAllowed",
        this.hostCheck === "loopback"
          ? `Host '${host}' is not a loopback name; this server listens on loopback without a token (set a token to serve other names)`
          : `Host '${host}' is not an IP address or loopback name; this server has no token, so a DNS name could be a rebinding attack (set a token to serve names)`,
        { host },
      );
    }
    let corsHeaders: Record<string, string> | null = null;
    const origin = request.headers.get("origin");
    if (origin !== null) {
      const verdict = this.cors.verdict(origin, selfOrigin);
      if (verdict === "rejected") {
        throw new HttpError(
          403,
          "CorsOriginNotAllowed",
          `Origin '${origin.slice(0, 200)}' is not allowed; list it in the server's cors option`,
          { origin: origin.slice(0, 200) },
        );
      }
      if (verdict === "allowed") {
        if (request.method === "OPTIONS")
          return new Response(null, { status: 204, headers: this.cors.preflightHeaders(origin) });
        corsHeaders = this.cors.headers(origin);
      }
    }
    if (!corsHeaders) return this.route(request, path);
    let res: Response;
    try {
      res = await this.route(request, path);
    } catch (e) {
      res = this.toResponse(e, request); // a browser can read the error only with the CORS headers
    }
    return withHeaders(res, corsHeaders);
  }

  /** Token, body bound, then the fast path or the app. */
  private async route(request: Request, path: string): Promise<Response> {
    const routed = request; // the key of its socket, whatever copy of the body is made below
    assertRequestTarget(request.url.length, path);
    const page = uiResponse(request, path);
    if (page) return page;
    if (this.auth && TokenAuth.needsAuth(path) && !this.auth.allows(request, new URL(request.url))) {
      throw new HttpError(
        401,
        "Unauthorized",
        "A valid token is required: send 'Authorization: Bearer <token>' (in a browser: /swagger?token=<token>; streams and /openapi.json take ?token= too)",
        {},
      );
    }
    // Long device operations, streams and a task's parameter reads must not be cut by the idle timeout;
    // they carry their own bounds. Lifted only once the body is in, so a stalled upload is still cut.
    if (request.method !== "GET" && request.method !== "HEAD") {
      assertJsonBody(request);
      const target = request.method === "POST" ? this.fastCallTarget(request, path) : null;
      if (target !== null) {
        // The fast path reads and parses the body in one native step, still under the idle timeout.
        const body = await request.json().catch(() => {
          throw new HttpError(422, "ValidationError", "Request body is not valid JSON", {
            location: "body",
            errors: [],
          });
        });
        this.setIdleTimeout(routed, 0);
        return this.callDevice(target, body, request.headers.get(LEASE_HEADER) ?? undefined);
      }
      request = await this.boundBody(request);
    } else if (Number(request.headers.get("content-length")) > this.maxBodyBytes) {
      throw this.tooLarge(); // a body no GET reads, announced over the bound
    }
    if (request.method !== "GET" || path.startsWith("/stream/") || PARAMETER_READ.test(path))
      this.setIdleTimeout(routed, 0);
    return this.app.handle(request);
  }

  /**
   * The device id when the request is POST /devices/{id}/call with a bounded JSON body: such a call goes
   * straight to the route's handler, without Elysia's router and body pipeline (the same checks and errors;
   * ~2× the throughput). Anything unusual takes the normal way.
   */
  private fastCallTarget(request: Request, path: string): string | null {
    if (!path.startsWith("/devices/") || !path.endsWith("/call")) return null;
    const id = path.slice(9, -5);
    if (!ID_PATTERN.test(id)) return null;
    if (request.headers.get("content-type") === null) return null; // a declared type is application/json by now (assertJsonBody)
    const length = request.headers.get("content-length");
    // Only a body whose announced length is within the bound; anything else takes the careful way.
    if (length === null || !(Number(length) <= this.maxBodyBytes)) return null;
    return id;
  }

  /** 413 for a body over the bound (by Content-Length at once when given); the body is read before anything else. */
  private async boundBody(request: Request): Promise<Request> {
    const length = request.headers.get("content-length");
    if (length !== null && Number(length) > this.maxBodyBytes) throw this.tooLarge();
    if (length === "0" || !request.body) return request;
    if (length !== null) {
      // One native read of the announced length (a stalled sender is cut by the idle timeout meanwhile).
      const bytes = await request.arrayBuffer().catch(() => {
        throw new HttpError(
          400,
          "InvalidRequest",
          "The request body could not be read (connection closed or timed out)",
        );
      });
      return new Request(request.url, { method: request.method, headers: request.headers, body: bytes });
    }
    // Read here in every case, while the idle timeout still applies: a client that announces a length and
    // then stops sending is cut off by it, instead of holding a socket once the timeout is lifted below.
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = request.body.getReader();
    for (;;) {
      // A client that stalls mid-body is cut by the idle timeout; that is its failure, not the server's.
      const { done, value } = await reader.read().catch(() => {
        throw new HttpError(
          400,
          "InvalidRequest",
          "The request body could not be read (connection closed or timed out)",
        );
      });
      if (done) break;
      total += value.byteLength;
      if (total > this.maxBodyBytes) {
        void reader.cancel().catch(() => {});
        throw this.tooLarge();
      }
      chunks.push(value);
    }
    return new Request(request.url, { method: request.method, headers: request.headers, body: Buffer.concat(chunks) });
  }

  private tooLarge(): HttpError {
    return new HttpError(413, "PayloadTooLarge", `Request body exceeds ${this.maxBodyBytes} bytes`, {
      limit_bytes: this.maxBodyBytes,
    });
  }

  private errorToResponse(code: unknown, error: unknown, request: Request): Response {
    if (code === "NOT_FOUND") {
      const { path } = splitUrl(request.url);
      const allowed = this.allowedMethods(path);
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        return errorResponse(
          405,
          envelope(
            "MethodNotAllowed",
            `Method ${request.method.slice(0, 20)} is not allowed on ${path.slice(0, 200)}`,
            { allowed },
          ),
          { allow: allowed.join(", ") },
        );
      }
      return errorResponse(
        404,
        envelope("NotFound", `No route for ${request.method.slice(0, 20)} ${path.slice(0, 200)}`, {}),
      );
    }
    if (code === "VALIDATION") {
      const v = error as { type?: string; all?: { path?: string; message?: string; summary?: string }[] };
      const errors = (v.all ?? [])
        .slice(0, MAX_REPORTED_ERRORS)
        .map((e) => ({ path: e.path ?? "", message: e.summary ?? e.message ?? "" }));
      const where = v.type ?? "request";
      const message =
        where === "body" && errors.length > 0 && errors[0]!.path === ""
          ? "Request body must be a JSON object"
          : `Invalid ${where}: ${errors[0]?.message ?? "validation failed"}`;
      return errorResponse(422, envelope("ValidationError", message, { location: where, errors }));
    }
    if (code === "PARSE") {
      return errorResponse(
        422,
        envelope("ValidationError", "Request body is not valid JSON", { location: "body", errors: [] }),
      );
    }
    return this.toResponse(error, request);
  }

  private toResponse(error: unknown, request: Request): Response {
    const m = mapError(error);
    if (m.unexpected) this.log("error", `labdaemon: ${request.method} ${splitUrl(request.url).path} failed`, error);
    return errorResponse(m.status, m.body, m.status === 401 ? { "www-authenticate": "Bearer" } : {});
  }

  /** Methods that have a route matching `path` (for 405 with an Allow header). */
  private allowedMethods(path: string): string[] {
    this.allowMatchers ??= (this.app.routes as { method: string; path: string }[]).map((r) => ({
      method: r.method,
      re: new RegExp(
        `^${r.path
          .split("/")
          .map((seg) =>
            seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
          )
          .join("/")}/?$`,
      ),
    }));
    const methods = new Set<string>();
    for (const m of this.allowMatchers) if (m.re.test(path)) methods.add(m.method);
    return [...methods];
  }

  private logRequest(method: string, path: string, status: number, ms: number): void {
    const level: LogLevel = path === "/health" ? "debug" : status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    if (LEVELS[level] < this.level) return;
    const rounded = Math.round(ms * 10) / 10;
    const fields = { event: "request", method, path, status, ms: rounded };
    const line = `${method} ${path} ${status} ${rounded.toFixed(1)} ms`;
    if (level === "error") this.logger.error(line, undefined, fields);
    else this.logger[level as "debug" | "info" | "warn"](line, fields);
  }

  /** Every line goes through the level filter ("silent" silences all of them). */
  private log(level: Exclude<LogLevel, "silent">, message: string, error?: unknown): void {
    if (LEVELS[level] < this.level) return;
    if (level === "error") this.logger.error(message, error);
    else this.logger[level](message);
  }
}

/** "http://" plus a host of at least four characters: what Elysia's path lookup assumes. */
const MIN_ORIGIN_LENGTH = 11;

/** Path and origin without building a URL object (this runs for every request). */
function splitUrl(url: string): { path: string; origin: string } {
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (slash < 0) return { path: "/", origin: url };
  const q = url.indexOf("?", slash);
  return { path: url.slice(slash, q < 0 ? undefined : q), origin: url.slice(0, slash) };
}

/** "http://name:port" → "name" ("[::1]" keeps its brackets). */
function hostName(origin: string): string {
  const start = origin.indexOf("://") + 3;
  const end = origin[start] === "[" ? origin.indexOf("]", start) + 1 : origin.indexOf(":", start);
  return origin.slice(start, end > start ? end : undefined);
}

function withHeaders(res: Response, headers: Record<string, string>): Response {
  try {
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}

export { Ownership } from "../core/ownership.ts";
export { ErrorStore } from "./errorStore.ts";
export * from "./schemas.ts";
export * from "./runSchemas.ts";

/**
 * Request bodies are JSON. A form or text body would otherwise reach the handlers parsed by Elysia as an
 * object (`method=reset` would call reset()), so any other declared type is refused before routing.
 */
function assertJsonBody(request: Request): void {
  const type = request.headers.get("content-type");
  if (type === null || request.headers.get("content-length") === "0") return;
  const mime = type.split(";", 1)[0]!.trim().toLowerCase();
  if (mime === "application/json") return;
  throw new HttpError(
    422,
    "ValidationError",
    `Request bodies are JSON: send Content-Type: application/json (got '${mime.slice(0, 100)}')`,
    { location: "body", errors: [{ path: "", message: "Expected application/json" }] },
  );
}
