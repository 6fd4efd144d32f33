// Logging: levels, the batching logger and its sinks, and the daemon's events as log lines.
export * from "./levels.ts";
export { Logger, LOG_FORMATS, type LogFormat, type LoggerOptions } from "./logger.ts";
export { FdSink, RotatingFileSink, FLUSH_MS, type LogSink } from "./sink.ts";
export { logDaemonEvents } from "./daemonEvents.ts";
