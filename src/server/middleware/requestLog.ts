// The server's log lines: every line through the server's level filter, and one line per request
// (method, path, status, time; /health at debug, 4xx at warn, 5xx at error).
import { LEVEL_RANK, type LogLevel, type ServerLogger } from "../../log/levels.ts";
import type { Middleware } from "./compose.ts";

export class ServerLog {
  private readonly rank: number;

  constructor(
    private readonly logger: ServerLogger,
    level: LogLevel = "info",
  ) {
    this.rank = LEVEL_RANK[level] ?? LEVEL_RANK.info;
  }

  /** A line at `level` ("silent" silences all of them). */
  log(level: Exclude<LogLevel, "silent">, message: string, error?: unknown): void {
    if (LEVEL_RANK[level] < this.rank) return;
    if (level === "error") this.logger.error(message, error);
    else this.logger[level](message);
  }

  request(method: string, path: string, status: number, ms: number): void {
    const level: LogLevel = path === "/health" ? "debug" : status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    if (LEVEL_RANK[level] < this.rank) return;
    const rounded = Math.round(ms * 10) / 10;
    const fields = { event: "request", method, path, status, ms: rounded };
    const line = `${method} ${path} ${status} ${rounded.toFixed(1)} ms`;
    if (level === "error") this.logger.error(line, undefined, fields);
    else this.logger[level as "debug" | "info" | "warn"](line, fields);
  }

  /** A batching logger's last lines, written now. */
  flush(): void {
    (this.logger as { flush?: () => void }).flush?.();
  }
}

/** One line per request once it is answered (outermost: it sees every answer, errors mapped). */
export function requestLog(log: ServerLog): Middleware {
  return async (ex, next) => {
    const t0 = performance.now();
    const res = await next();
    log.request(ex.request.method, ex.path, res.status, performance.now() - t0);
    return res;
  };
}
