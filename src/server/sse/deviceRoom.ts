// The SSE side of one device stream: a single core subscription for all of the device's SSE clients,
// each payload serialised once per encoding, then fanned out to per-client bounded queues.
import {
  asError,
  isoMillis,
  type LabDaemon,
  type ServiceRequestEvent,
  type StreamEnd,
  type StreamInfo,
  type Subscription,
} from "../../core/index.ts";
import { SseConnection, type ConnectionSettings } from "./connection.ts";
import { Fanout, type HeldEvent, type ReplayLimits } from "./fanout.ts";
import { bytes, formatEvent, formatJsonEvent, formatStreamError } from "./format.ts";
import { toJson, type PayloadEncoding } from "../json.ts";
import type { DeviceStreamStats } from "./stats.ts";

export interface RoomOptions {
  connection: ConnectionSettings;
  replay: ReplayLimits;
  /**
   * How long the room stays subscribed after its last client left, still filling the replay buffer, so a
   * client that lost its connection resumes with Last-Event-ID without a gap. The device stops after it.
   */
  resumeGraceMs: number;
}

/**
 * Ends a client may ask for over HTTP (stream/stop, disconnect): when one did, a reconnect must not restart
 * the device behind it. The same ends by a task or a script are a pause the clients wait out.
 */
const CLIENT_ENDS = new Set(["StreamStopped", "DeviceDisconnected"]);
/** What a client's stream/stop is called on the wire: its own type, so a client can tell it from a task's stop. */
export const STOPPED_BY_CLIENT = "StreamStoppedByClient";

export class DeviceRoom {
  private readonly fanout: Fanout<PayloadEncoding>;
  private readonly idJson: string;
  private sub: Subscription | null = null;
  private subscribing: Promise<void> | null = null;
  /** Bumped per core subscription, so a stale subscription's end cannot end its successor's clients. */
  private generation = 0;
  /** Set when a client's request ended the device stream; cleared when it streams again. */
  private stopped: { sequence: number; type: string } | null = null;
  /** Client requests (stream/stop, disconnect) under way: a stream end while one runs is theirs. */
  private clientRequests = 0;
  private encodeFailures = 0;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  /** Encodings of the clients that just left: kept up in the replay buffer during the grace period. */
  private readonly graceEncodings = new Set<PayloadEncoding>();

  constructor(
    private readonly daemon: LabDaemon,
    readonly deviceId: string,
    private readonly opts: RoomOptions,
  ) {
    this.fanout = new Fanout<PayloadEncoding>(opts.replay);
    this.idJson = JSON.stringify(deviceId);
  }

  /**
   * Runs a client's HTTP request that ends the stream (stream/stop, disconnect): the end it causes is the
   * client's choice, which reconnects then respect (204). The core reports the end before its stop resolves.
   */
  async onClientRequest<T>(request: () => Promise<T>): Promise<T> {
    this.clientRequests++;
    try {
      return await request();
    } finally {
      this.clientRequests--;
    }
  }

  /**
   * True when a client's request stopped the stream after this client's last event, and nobody restarted it:
   * the client's reconnect should be told to stop rather than start the device again.
   */
  stoppedSince(lastEventId: number): boolean {
    return (
      this.stopped !== null && this.stopped.sequence >= lastEventId && !this.daemon.deviceState(this.deviceId).streaming
    );
  }

  /** A new SSE client: replay after `lastEventId`, then live events. */
  join(signal: AbortSignal, encoding: PayloadEncoding, lastEventId?: number): SseConnection {
    const conn = new SseConnection({ ...this.opts.connection, signal, onClose: (c) => this.leave(c) });
    // Sent at once so the client sees the response headers before the first event.
    conn.comment(`device stream '${this.deviceId}'`);
    this.endGrace();
    this.fanout.add(conn, { variant: encoding }, lastEventId);
    // A device that only forwards service requests has no data stream to start.
    if (this.daemon.canStream(this.deviceId)) this.ensureSubscribed();
    return conn;
  }

  /**
   * `device_srq` to every client: no `id` (it is outside the data sequence, so Last-Event-ID is left as it
   * was) and not replayed on a resume; a client that was away missed it.
   */
  serviceRequest(e: ServiceRequestEvent): void {
    const data = JSON.stringify({
      event: "device_srq",
      device_id: this.deviceId,
      timestamp: e.timestamp,
      status_byte: e.statusByte,
    });
    this.fanout.publishLive(bytes(formatEvent({ event: "device_srq", data })));
  }

  /** Ends every client of this device with `stream_error`. */
  endAll(reason: StreamEnd): void {
    this.fanout.endAll(bytes(formatStreamError({ device_id: this.deviceId }, reason)));
  }

  stats(): DeviceStreamStats {
    const state = this.daemon.hasDevice(this.deviceId) ? this.daemon.deviceState(this.deviceId) : null;
    return {
      subscribers: this.fanout.size,
      dropped: this.fanout.dropped(),
      sequence: state?.lastSequence ?? 0,
      started_by: state?.streamStartedBy ?? null,
      encode_failures: this.encodeFailures,
      replay: this.fanout.replayStats(),
      clients: this.fanout.clientStats().map((c) => ({
        id: c.id,
        queued: c.queued,
        queued_bytes: c.queuedBytes,
        dropped: c.dropped,
        delivered: c.delivered,
        connected_at: c.connectedAt,
        encoding: c.variant,
      })),
    };
  }

  private ensureSubscribed(): void {
    if (this.sub || this.subscribing) return;
    const gen = ++this.generation;
    this.subscribing = (async () => {
      let sub: Subscription;
      try {
        sub = await this.daemon.subscribe(this.deviceId, (payload, info) => this.onData(payload, info), {
          onEnd: (reason) => this.onEnd(gen, reason),
        });
      } catch (e) {
        const err = asError(e);
        this.endAll({ type: err.name, message: err.message });
        return;
      }
      if (this.fanout.size === 0 || gen !== this.generation) {
        await sub.unsubscribe().catch(() => {});
        return;
      }
      this.stopped = null;
      this.sub = sub;
    })().finally(() => {
      this.subscribing = null;
      // Clients that joined while a subscription was being dropped still need one.
      if (this.fanout.size > 0 && !this.sub && this.anyOpen()) this.ensureSubscribed();
    });
  }

  private anyOpen(): boolean {
    return this.fanout.connections().some((c) => c.isOpen);
  }

  /** Drops the core subscription now (server stopping): no grace period. */
  close(): void {
    this.endGrace();
    this.unsubscribe();
  }

  private endGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.graceEncodings.clear();
  }

  private leave(conn: SseConnection): void {
    const encoding = this.fanout.variantOf(conn);
    this.fanout.remove(conn);
    if (this.fanout.size > 0 || !this.sub) return;
    if (this.opts.resumeGraceMs > 0 && conn.isResumable) {
      if (encoding) this.graceEncodings.add(encoding);
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null;
        this.graceEncodings.clear();
        if (this.fanout.size === 0) this.unsubscribe();
      }, this.opts.resumeGraceMs);
      return;
    }
    this.unsubscribe();
  }

  private unsubscribe(): void {
    if (this.fanout.size > 0) return;
    const sub = this.sub;
    this.sub = null;
    this.generation++;
    // The core stops the device only if subscribers started it (never a local or task stream).
    if (sub) sub.unsubscribe().catch(() => {});
  }

  private onEnd(gen: number, reason: StreamEnd): void {
    if (gen !== this.generation) return;
    // Also ends a subscription still being made (a stop that arrived while the device was starting):
    // it must not be kept once it resolves, and clients that join after this get a fresh one.
    this.generation++;
    this.sub = null;
    this.endGrace();
    if (this.clientRequests > 0 && CLIENT_ENDS.has(reason.type)) {
      if (reason.type === "StreamStopped") reason = { ...reason, type: STOPPED_BY_CLIENT };
      this.stopped = {
        sequence: this.daemon.hasDevice(this.deviceId) ? this.daemon.deviceState(this.deviceId).lastSequence : 0,
        type: reason.type,
      };
    }
    this.endAll(reason);
  }

  private onData(payload: unknown, info: StreamInfo): void {
    const event: HeldEvent<PayloadEncoding> = { sequence: info.sequence, chunks: {}, size: 0 };
    try {
      const head = `{"event":"device_data","device_id":${this.idJson},"timestamp":"${isoMillis(info.time)}","sequence":${info.sequence},"payload":`;
      if (this.fanout.wants("json") || this.graceEncodings.has("json")) {
        event.chunks.json = bytes(formatJsonEvent(info.sequence, "device_data", `${head + toJson(payload, "json")}}`));
        event.size += event.chunks.json.byteLength;
      }
      if (this.fanout.wants("base64") || this.graceEncodings.has("base64")) {
        event.chunks.base64 = bytes(
          formatJsonEvent(info.sequence, "device_data", `${head + toJson(payload, "base64")}}`),
        );
        event.size += event.chunks.base64.byteLength;
      }
    } catch (e) {
      // One payload JSON cannot hold must not end the stream: it is skipped (a gap in the sequence) and
      // recorded as the device's last error.
      this.encodeFailures++;
      this.daemon.recordDeviceError(this.deviceId, e, "callback", { sequence: info.sequence, stage: "sse-encode" });
      return;
    }
    this.fanout.publish(event);
  }
}
