// What GET /devices/{id} shows of a device's SSE stream and its connections (the wire's snake_case).
import type { PayloadEncoding } from "../json.ts";

/** One open SSE connection, as GET /devices/{id} shows it (the wire's snake_case). */
export interface ClientStats {
  id: number;
  queued: number;
  queued_bytes: number;
  dropped: number;
  delivered: number;
  connected_at: string;
  encoding: PayloadEncoding;
}

export interface DeviceStreamStats {
  /** SSE subscribers on this device now. */
  subscribers: number;
  /** Events dropped from SSE subscriber queues on this device since the server started (all subscribers). */
  dropped: number;
  /** Last sequence number emitted by the device stream. */
  sequence: number;
  started_by: "local" | "subscribers" | null;
  /** Payloads that could not be written as JSON (skipped: a gap in the sequence; see the device's error). */
  encode_failures?: number;
  /** What the Last-Event-ID replay buffer holds. */
  replay?: { events: number; bytes: number; oldest: number | null; newest: number | null };
  /** One entry per open SSE connection. */
  clients?: ClientStats[];
}
