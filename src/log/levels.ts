// Log levels, their order, and the interface the server and the appliance log through.

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Higher is more severe; a logger at level L writes lines of rank ≥ L's. */
export const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Structured data of a line: JSON lines carry it as fields, text lines only the message. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface ServerLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, error?: unknown, fields?: LogFields): void;
}
