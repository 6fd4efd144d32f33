// A real loopback server running only the middlewares under test (errors mapped to the envelope, as the
// server does), ending in a handler the test chooses: each middleware is exercised over real HTTP alone.
import type { Server } from "bun";
import { compose, type Handler, type Middleware } from "../../../src/server/middleware/compose.ts";
import { ErrorMapping, mapErrors } from "../../../src/server/middleware/errorMapping.ts";
import { exchangeOf } from "../../../src/server/middleware/exchange.ts";
import { IdleTimeouts } from "../../../src/server/middleware/idleTimeout.ts";
import { ServerLog } from "../../../src/server/middleware/requestLog.ts";
import type { LogFields, ServerLogger } from "../../../src/log/levels.ts";

export interface ChainServer {
  port: number;
  url: string;
  idle: IdleTimeouts;
  /** Log lines written, as "level message". */
  lines: string[];
  stop(): Promise<void>;
}

/** Echoes what reached the end of the chain: method, path, the URL routed and the body as text. */
export const echo: Handler = async (ex) =>
  Response.json({ method: ex.request.method, path: ex.path, url: ex.request.url, body: await ex.request.text() });

export function recordingLogger(lines: string[], fields: LogFields[] = []): ServerLogger {
  const at = (level: string) => (m: string, f?: LogFields) => {
    lines.push(`${level} ${m}`);
    if (f) fields.push(f);
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: (m, _e, f) => at("error")(m, f),
  };
}

export function serveChain(
  chain: (idle: IdleTimeouts) => (Middleware | null)[],
  last: Handler = echo,
  opts: { idleTimeout?: number; wrap?: (srv: Server<unknown>) => Server<unknown> } = {},
): ChainServer {
  const lines: string[] = [];
  const log = new ServerLog(recordingLogger(lines), "debug");
  const idle = new IdleTimeouts();
  const handle = compose([mapErrors(new ErrorMapping(() => [], log)), ...chain(idle)], last);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: opts.idleTimeout ?? 10,
    fetch(request, srv) {
      const ex = exchangeOf(request, () => `http://127.0.0.1:${server.port}`);
      idle.remember(ex.routed, opts.wrap ? opts.wrap(srv) : srv, request);
      return handle(ex);
    },
  });
  return {
    port: server.port!,
    url: `http://127.0.0.1:${server.port}`,
    idle,
    lines,
    stop: () => server.stop(true),
  };
}
