// The TypeScript client of a labdaemon server: `import { ServerAPI, SSEClient } from "labdaemon/client"`.
export { ServerAPI, type ServerAPIOptions } from "./serverApi.ts";
export type { RequestOptions } from "./transport.ts";
export { DeviceLease, type LeaseReleaseResponse, type LeaseResponse } from "./lease.ts";
export {
  SSEClient,
  type SSEClientOptions,
  type SSEClientStats,
  type StreamEventMeta,
  type StreamGap,
} from "./sseClient.ts";
export { SseParser, type SseMessage } from "./sseParser.ts";
export { ensureServer, ensureDevice } from "./ensure.ts";
export { ServerAPIError, ServerConnectionError, StreamEndedError, type ServerErrorInfo } from "./errors.ts";
export type * from "../server/schemas.ts";
export type * from "../server/runSchemas.ts";
