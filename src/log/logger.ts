// The logger: one line per event with an ISO timestamp and a level, as text or as one JSON object a
// line, into a batching sink (stdout/stderr, or a rotated file).
import { LEVEL_RANK, type LogFields, type LogLevel, type ServerLogger } from "./levels.ts";
import { FdSink, type LogSink } from "./sink.ts";

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Every line goes here; default: debug and info to stdout, warn and error to stderr. */
  sink?: LogSink;
}

type Written = Exclude<LogLevel, "silent">;

export class Logger implements ServerLogger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  private readonly rank: number;
  private readonly out: LogSink;
  private readonly err: LogSink;

  constructor(opts: LoggerOptions = {}) {
    this.level = opts.level ?? "info";
    this.format = opts.format ?? "text";
    this.rank = LEVEL_RANK[this.level];
    this.out = opts.sink ?? stdoutSink();
    this.err = opts.sink ?? stderrSink();
  }

  enabled(level: Written): boolean {
    return LEVEL_RANK[level] >= this.rank;
  }

  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }

  error(message: string, error?: unknown, fields?: LogFields): void {
    if (error === undefined) return this.write("error", message, fields);
    const e = error as { name?: string; message?: string; stack?: string };
    if (this.format === "json") {
      return this.write("error", message, {
        ...fields,
        error_type: e?.name ?? typeof error,
        error_message: e?.message ?? String(error),
        stack: e?.stack,
      });
    }
    // The stack on the lines after, indented as a runtime prints it.
    this.write("error", `${message}: ${e?.stack ?? String(error)}`, fields);
  }

  /** Writes what waits in the sinks. */
  flush(): void {
    this.out.flush();
    if (this.err !== this.out) this.err.flush();
  }

  private write(level: Written, message: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.rank) return;
    const time = isoTime();
    const line =
      this.format === "json"
        ? `${JSON.stringify({ time, level, msg: message, ...fields })}\n`
        : `${time} ${LABEL[level]} ${message}\n`;
    (level === "warn" || level === "error" ? this.err : this.out).write(line);
  }
}

let lastSecond = -1;
let secondPrefix = "";

/**
 * `new Date().toISOString()`, built from a prefix made once a second: formatting a Date costs more than
 * the rest of a request's log line.
 */
export function isoTime(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "2026-12-04T16:35:32."
  }
  const ms = now - second * 1000;
  return `${secondPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

const LABEL: Record<Written, string> = { debug: "DEBUG", info: "INFO ", warn: "WARN ", error: "ERROR" };

// One sink per stream for the whole process: two loggers must not interleave half-batches.
let stdout: FdSink | null = null;
let stderr: FdSink | null = null;
const stdoutSink = () => (stdout ??= new FdSink(1));
const stderrSink = () => (stderr ??= new FdSink(2));
