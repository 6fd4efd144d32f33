// The SSE room's face to the rest of the server. LabDaemonServer creates one SseService per server,
// mounts `routes()`, shows `stats()` in device detail, and calls `closeAll()` when it stops.
// (Interface fixed first so the server and the SSE room can be built side by side.)
import { Elysia } from "elysia";
import type { LabDaemon } from "../../core/index.ts";

export interface DeviceStreamStats {
  /** SSE subscribers on this device now. */
  subscribers: number;
  /** Events dropped from SSE subscriber queues since the stream started (all subscribers). */
  dropped: number;
  /** Last sequence number emitted by the device stream. */
  sequence: number;
  startedBy: "local" | "subscribers" | null;
}

export interface SseOptions {
  /** Keep-alive comment interval, ms (default 15000). */
  keepAliveMs?: number;
}

export class SseService {
  constructor(
    readonly daemon: LabDaemon,
    readonly options: SseOptions = {},
  ) {}

  /** GET /stream/devices/:device_id and GET /stream/tasks. */
  routes(): Elysia<any, any, any, any, any, any, any> {
    return new Elysia({ name: "labdaemon-sse" });
  }

  /** Stream figures for GET /devices/{id}; null when the device has never streamed. */
  stats(_deviceId: string): DeviceStreamStats | null {
    return null;
  }

  /** Sends `stream_error` to every open SSE connection and closes it; resolves once all are closed. */
  async closeAll(_reason = "server stopping"): Promise<void> {}
}
