// The library's public surface: `import { LabDaemon } from "labdaemon"`.
import pkg from "../package.json" with { type: "json" };

export * from "./core/index.ts";
export const version: string = pkg.version;
export {
  ServerAPI,
  SSEClient,
  SseParser,
  ensureServer,
  ensureDevice,
  ServerAPIError,
  ServerConnectionError,
  StreamEndedError,
} from "./client/index.ts";
export type {
  ServerAPIOptions,
  RequestOptions,
  SSEClientOptions,
  SSEClientStats,
  StreamEventMeta,
  StreamGap,
  SseMessage,
} from "./client/index.ts";
export { LabDaemonServer } from "./server/index.ts";
export type { LabDaemonServerOptions, ServerLogger, LogLevel } from "./server/index.ts";
export { Logger, RotatingFileSink, FdSink, logDaemonEvents } from "./log/index.ts";
export type { LogFormat, LogFields, LoggerOptions, LogSink } from "./log/index.ts";
export type * from "./server/schemas.ts";
// Instrument I/O and the sample ring (the native addon loads on first use).
export * from "./io/index.ts";
