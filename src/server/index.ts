// LabDaemonServer: one daemon served over HTTP. start/stop, and the composition: each request runs through
// the middleware chain (middleware/: log, errors, drain, host, CORS, URL, auth, JSON, /call fast path, body
// bound, idle timeout), then the Elysia app (routes/), whose every failure leaves through `onError`.
import { Elysia } from "elysia";
import type { Server } from "bun";
import type { Ownership } from "../core/ownership.ts";
import type { LabDaemon } from "../core/daemon.ts";
import { withDeadline } from "../core/deadline.ts";
import { docsRoutes } from "./docs.ts";
import { ErrorStore } from "./errorStore.ts";
import { envelope, errorResponse } from "./errors.ts";
import { auth, TokenAuth } from "./middleware/auth.ts";
import { MAX_BODY_BYTES, bodyLimit } from "./middleware/bodyLimit.ts";
import { callFastPath } from "./middleware/callFastPath.ts";
import { compose, type Handler } from "./middleware/compose.ts";
import { cors, CorsPolicy } from "./middleware/cors.ts";
import { drainGate, RequestDrain } from "./middleware/drain.ts";
import { ErrorMapping, mapErrors } from "./middleware/errorMapping.ts";
import { exchangeOf } from "./middleware/exchange.ts";
import { hostCheck, hostCheckFor, isLoopbackAddress } from "./middleware/hostCheck.ts";
import { IdleTimeouts, idleSeconds, liftIdleTimeout } from "./middleware/idleTimeout.ts";
import { jsonBody } from "./middleware/jsonBody.ts";
import { requestLog, ServerLog } from "./middleware/requestLog.ts";
import { urlLimit } from "./middleware/urlLimit.ts";
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
import type { LogLevel, ServerLogger } from "../log/levels.ts";
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

/** Part of a stop's budget kept for answering 503 to the requests still in flight, ms. */
const STOP_FLUSH_MS = 200;

/** One server per daemon at a time (a second would fight over ownership and SSE). */
const served = new WeakSet<LabDaemon>();

export class LabDaemonServer {
  /** Which task owns which device: the daemon's own record (tasks started anywhere claim there). */
  get ownership(): Ownership {
    return this.daemon.ownership;
  }
  readonly errors: ErrorStore;
  readonly sse: SseService;
  /** The Elysia app; `server.fetch(request)` runs a request through the whole server without a socket. */
  readonly app: Elysia<any, any, any, any, any, any, any>;
  private server: Server<unknown> | null = null;
  private readonly drain = new RequestDrain();
  private readonly idle = new IdleTimeouts();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly hasToken: boolean;
  private readonly log: ServerLog;
  private readonly errorMapping: ErrorMapping;
  private readonly idleTimeoutSeconds: number;
  /** The middleware chain, ending in the app. */
  private readonly handle: Handler;

  constructor(
    readonly daemon: LabDaemon,
    opts: LabDaemonServerOptions = {},
  ) {
    this.host = opts.host ?? "127.0.0.1";
    this.requestedPort = opts.port ?? 5000;
    if (!Number.isInteger(this.requestedPort) || this.requestedPort < 0 || this.requestedPort > 65535) {
      throw new RangeError(`port must be an integer 0..65535, got ${opts.port}`);
    }
    const tokenAuth = opts.token !== undefined ? new TokenAuth(opts.token) : null;
    this.hasToken = tokenAuth !== null;
    const corsPolicy = new CorsPolicy(opts.cors ?? []);
    // The server filters by its own level; the default logger writes whatever it is given.
    this.log = new ServerLog(opts.logger ?? new Logger({ level: "debug" }), opts.logLevel ?? "info");
    const maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    this.idleTimeoutSeconds = idleSeconds(opts.idleTimeoutSeconds);
    this.errors = new ErrorStore(daemon);
    // Which task shutdown gave up on (it ignored its cancel, so its cleanup never ran) deserves a line. Kept
    // after stop(): the daemon's shutdown comes after the server's. It holds the log only, not the server.
    const log = this.log;
    daemon.on("error", (e) => {
      if (e.error.name === "TaskAbandoned") log.log("warn", `labdaemon: ${e.error.message}`);
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
    // The one handler of POST /devices/{id}/call: the Elysia route and the fast path both run it.
    const call = callHandler(ctx);
    this.errorMapping = new ErrorMapping(() => this.app.routes as { method: string; path: string }[], this.log);
    const app: Elysia<any, any, any, any, any, any, any> = new Elysia()
      .onError({ as: "global" }, ({ code, error, request }) => this.errorMapping.fromElysia(code, error, request))
      .use(metaRoutes())
      .use(typeRoutes(ctx))
      .use(deviceRoutes(ctx, call))
      .use(taskRoutes(ctx))
      .use(leaseRoutes({ ...ctx, forceAllowed: this.hasToken }))
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
      .use(docsRoutes(() => app.routes as never, { token: this.hasToken }));
    this.app = app;
    this.handle = compose(
      [
        requestLog(this.log),
        mapErrors(this.errorMapping),
        // Without a token, only Host names DNS cannot rebind are served.
        hostCheck(hostCheckFor(this.host, this.hasToken)),
        cors(corsPolicy, (e, request) => this.errorMapping.toResponse(e, request)),
        // Inside cors: a page on an allowed origin can read the 503 envelope of a stopping server.
        drainGate(this.drain),
        urlLimit,
        // The dashboard page needs no token: it asks for one itself.
        (ex, next) => {
          const page = uiResponse(ex.request, ex.path);
          return page ? Promise.resolve(page) : next();
        },
        auth(tokenAuth),
        jsonBody,
        callFastPath({ call, maxBodyBytes, idle: this.idle }),
        bodyLimit(maxBodyBytes),
        liftIdleTimeout(this.idle),
      ],
      (ex) => this.app.handle(ex.request),
    );
  }

  /** The bound port once started (the real one when 0 was asked for). */
  get port(): number {
    return this.server?.port ?? this.requestedPort;
  }

  get url(): string {
    const host = this.host.includes(":") && !this.host.startsWith("[") ? `[${this.host}]` : this.host;
    return `http://${host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host}:${this.port}`;
  }

  /** Bound to 0.0.0.0 or :: — reachable by whatever name or address this machine has. */
  get listensOnEveryAddress(): boolean {
    return ["0.0.0.0", "::", "[::]"].includes(this.host);
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
      // Bodies are bounded by middleware/bodyLimit.ts, which answers 413 with the envelope (at once when the
      // declared length is over the bound). Bun's own limit would answer first, bodiless: keep it out of the way.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // A client silent this long (headers or body still coming) is cut off; streams and device calls lift it.
      idleTimeout: this.idleTimeoutSeconds,
      fetch: (req, srv) => this.fetch(req, srv),
      error: (e) => {
        this.log.log("error", "labdaemon: unhandled server error", e);
        return errorResponse(
          500,
          envelope("InternalError", "The server failed to handle the request; see the server log."),
        );
      },
    });
    served.add(this.daemon);
    // Listening only while serving: a daemon that outlives this server must not keep its errors and streams.
    this.errors.listen();
    this.sse.listen();
    // A stream ended while its client stopped reading is never pulled again: only a short idle timeout on
    // its socket closes it (Bun checks timeouts every few seconds). Bun cannot close a socket otherwise.
    this.sse.closeSocket = (req) => this.idle.set(req, 1);
    // Elysia hands this to handlers as `server` (the SSE routes use it for per-request idle timeouts).
    (this.app as { server: unknown }).server = this.server;
    if (!this.hasToken && !isLoopbackAddress(this.host)) {
      this.log.log(
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
    this.errors.unlistenAll();
    await withDeadline(this.sse.stop("server stopping"), left() / 2);
    // The last part of the budget is kept for writing the 503s.
    const answerBy = Math.max(1, left() - Math.min(STOP_FLUSH_MS, timeoutMs / 4));
    let graceful = await withDeadline(closed, answerBy);
    if (!graceful) {
      const late = this.drain.inFlight;
      if (late > 0)
        this.log.log("warn", `labdaemon: stopping: ${late} request(s) still running at the deadline answered 503`);
      this.drain.cut();
      graceful = await withDeadline(closed, left());
    }
    if (!graceful) void srv.stop(true);
    (this.app as { server: unknown }).server = null;
    served.delete(this.daemon);
    this.log.flush();
  }

  /** Runs one request through the middleware chain and the app (`srv`: the socket's server, for idle timeouts). */
  async fetch(request: Request, srv?: Server<unknown>): Promise<Response> {
    const ex = exchangeOf(request, () => this.url);
    if (srv) this.idle.remember(ex.routed, srv, request);
    return this.handle(ex);
  }
}

export { Ownership } from "../core/ownership.ts";
export { ErrorStore } from "./errorStore.ts";
export * from "./schemas.ts";
export * from "./runSchemas.ts";
