// The SSE room's face to the rest of the server. LabDaemonServer creates one SseService per server,
// mounts `routes()`, shows `stats()` in device detail, and calls `closeAll()` when it stops.
import { Elysia, t } from "elysia";
import { DeviceNotFoundError, type LabDaemon } from "../../core/index.ts";
import { doc } from "../routes/doc.ts";
import { ErrorEnvelopeSchema } from "../schemas.ts";
import { withDeadline } from "../../core/deadline.ts";
import { doesNotStream } from "../../core/deviceStream.ts";
import type { ConnectionSettings, QueueLimits, SseConnection } from "./connection.ts";
import { DeviceRoom } from "./deviceRoom.ts";
import type { ReplayLimits } from "./fanout.ts";
import { bytes, formatComment, formatStreamError, SSE_HEADERS } from "./format.ts";
import type { PayloadEncoding } from "../json.ts";
import type { DeviceStreamStats } from "./stats.ts";
import { TaskFeed } from "./taskFeed.ts";
import { clip } from "../../core/clip.ts";

export interface SseOptions {
  /** Keep-alive comment interval, ms (default 15000; 0 disables). */
  keepAliveMs?: number;
  /** Per-subscriber queue bound (default 4096 events, 8 MiB). */
  queue?: Partial<QueueLimits>;
  /** Per-device (and task feed) replay buffer for Last-Event-ID (default 1024 events, 8 MiB). */
  replay?: Partial<ReplayLimits>;
  /** Open SSE connections allowed at once, all streams together (default 1000). */
  maxConnections?: number;
  /**
   * How long a device stays subscribed after its last SSE client went away, so a reconnect with
   * Last-Event-ID resumes without a gap (default 5000 ms; 0 stops the device at once).
   */
  resumeGraceMs?: number;
  /** How long closeAll waits for clients to take their last event before cutting them off (default 1000 ms). */
  closeTimeoutMs?: number;
  /**
   * How long any other stream the server ends (device stopped or removed) may take to deliver what is
   * queued before it is cut off (default 30000 ms).
   */
  drainTimeoutMs?: number;
}

const DEFAULT_QUEUE: QueueLimits = { maxEvents: 4096, maxBytes: 8 * 1024 * 1024 };
const REFUSED_RETRY_MS = 10_000;
const DEFAULT_REPLAY: ReplayLimits = { maxEvents: 1024, maxBytes: 8 * 1024 * 1024 };

export class SseService {
  private readonly rooms = new Map<string, DeviceRoom>();
  private readonly tasks: TaskFeed;
  private readonly open = new Set<SseConnection>();
  private readonly connection: ConnectionSettings;
  private readonly replay: ReplayLimits;
  private closing = false;
  private unlisten: (() => void)[] = [];
  /**
   * Closes the socket a stream request came on (set by the HTTP server): a stream ended while its client
   * stopped reading is never pulled again, so only closing the socket ends it.
   */
  closeSocket: ((request: Request) => void) | null = null;

  constructor(
    readonly daemon: LabDaemon,
    readonly options: SseOptions = {},
  ) {
    this.connection = {
      limits: { ...DEFAULT_QUEUE, ...options.queue },
      keepAliveMs: options.keepAliveMs ?? 15_000,
      drainTimeoutMs: options.drainTimeoutMs,
    };
    this.replay = { ...DEFAULT_REPLAY, ...options.replay };
    this.tasks = new TaskFeed(daemon, { connection: this.connection, replay: this.replay });
    this.listen();
  }

  /** Follows the daemon's device removals, service requests and tasks (idempotent; the server starting). */
  listen(): void {
    this.tasks.listen();
    if (this.unlisten.length > 0) return;
    this.unlisten = [
      this.daemon.on("device", (e) => {
        if (e.kind === "removed") this.removeRoom(e.deviceId);
      }),
      // Only clients already listening hear a service request: nobody's room is made for one.
      this.daemon.on("srq", (e) => this.rooms.get(e.deviceId)?.serviceRequest(e)),
    ];
  }

  /**
   * Ends every stream (closeAll) and stops listening to the daemon, which may outlive this server. The rooms go
   * too: a device removed while nobody listened must not leave its replay buffer to a new device of its id.
   */
  async stop(reason = "server stopping", timeoutMs?: number): Promise<void> {
    try {
      await this.closeAll(reason, timeoutMs);
    } finally {
      for (const off of this.unlisten) off();
      this.unlisten = [];
      this.tasks.close();
      this.rooms.clear();
    }
  }

  /** GET /stream/devices/:device_id and GET /stream/tasks. */
  routes(): Elysia<any, any, any, any, any, any, any> {
    return new Elysia({ name: "labdaemon-sse" })
      .get(
        "/stream/devices/:device_id",
        ({ params, query, request }) => this.deviceStream(params.device_id, query.encoding ?? "json", request),
        {
          params: t.Object({ device_id: t.String() }),
          query: t.Object({
            encoding: t.Optional(
              t.Union([t.Literal("json"), t.Literal("base64")], {
                description: "base64 sends typed-array payloads as {dtype, data} (little-endian bytes, base64)",
              }),
            ),
            token: t.Optional(
              t.String({ description: "API token, for clients that cannot set headers (EventSource)" }),
            ),
          }),
          detail: doc({
            summary: "Device data stream (Server-Sent Events)",
            description:
              "Events `device_data` with data {event, device_id, timestamp, sequence, payload}; `payload` is " +
              'written as a /call result is (a cycle → "[Circular]"). ' +
              "`id` is the sequence, so a gap means events were dropped. Send Last-Event-ID to resume from a " +
              "short replay buffer. The first subscriber starts the device; the last one out stops what subscribers " +
              "started. `stream_error` precedes every end chosen by the server. 204 on a reconnect after a client " +
              "stopped the stream (POST /devices/{id}/stream/stop: stream_error `StreamStoppedByClient`) or disconnected " +
              "the device; a stop by a task or a script (`StreamStopped`) is worth a reconnect. A device that forwards its instrument's service requests adds " +
              "`device_srq` events with data {event, device_id, timestamp, status_byte} (status_byte: the " +
              "IEEE 488.2 status byte, or null when it could not be read); they carry no `id`, are not replayed, " +
              "and such a device may be listened to even when it has no data stream.",
            tags: ["stream"],
            responses: {
              200: t.String({
                description: "text/event-stream: `id`, `event: device_data` (or `device_srq`), `data` lines",
              }),
              204: {},
              400: ErrorEnvelopeSchema,
              404: ErrorEnvelopeSchema,
            },
          }),
        },
      )
      .get("/stream/tasks", ({ query, request }) => this.taskStream(query.task_id, request), {
        query: t.Object({
          task_id: t.Optional(t.String({ description: "only this task's events" })),
          token: t.Optional(t.String()),
        }),
        detail: doc({
          summary: "Task lifecycle and progress stream (Server-Sent Events)",
          description:
            "Events task_started, task_progress, task_paused, task_resumed, task_completed, task_failed, " +
            "task_cancelled with data {event, task_id, task_type, status, timestamp, sequence, progress?, error?}.",
          tags: ["stream"],
          responses: { 200: t.String({ description: "text/event-stream: `id`, `event`, `data` lines" }) },
        }),
      });
  }

  /** Stream figures for GET /devices/{id}; null when the device has never streamed. */
  stats(deviceId: string): DeviceStreamStats | null {
    const room = this.rooms.get(deviceId);
    if (room) return room.stats();
    if (!this.daemon.hasDevice(deviceId)) return null;
    const s = this.daemon.deviceState(deviceId);
    if (!s.streaming && s.lastSequence === 0) return null;
    return { subscribers: 0, dropped: 0, sequence: s.lastSequence, started_by: s.streamStartedBy };
  }

  /**
   * Runs a client's HTTP request that ends the device's stream (POST stream/stop, disconnect): a reconnect
   * after that end gets 204 instead of starting the device again. The same end by a task or a script does not.
   */
  onClientRequest<T>(deviceId: string, request: () => Promise<T>): Promise<T> {
    const room = this.rooms.get(deviceId);
    return room ? room.onClientRequest(request) : request();
  }

  /** The open SSE connections, all streams together (stats() gives the wire's view of one device's). */
  connections(): SseConnection[] {
    return [...this.open];
  }

  /** Sends `stream_error` to every open SSE connection and closes it; resolves once all are closed. */
  async closeAll(reason = "server stopping", timeoutMs = this.options.closeTimeoutMs ?? 1000): Promise<void> {
    this.closing = true;
    try {
      for (const room of this.rooms.values()) room.endAll({ type: "ServerStopping", message: reason });
      this.tasks.endAll("ServerStopping", reason);
      const all = [...this.open];
      await withDeadline(Promise.all(all.map((c) => c.closed)), timeoutMs);
      // Clients that would not take their last event in time are cut off.
      for (const c of all) c.abort();
      for (const room of this.rooms.values()) room.close();
      this.tasks.close();
    } finally {
      this.closing = false;
    }
  }

  /**
   * A removed device's room goes with it: its replay buffer must not be resumed by a new device of that id,
   * and its clients are told why their stream ends. A data stream's clients were told so by the stream's own
   * end; a device that only forwards service requests has no stream to end, so its clients are ended here.
   */
  private removeRoom(deviceId: string): void {
    const room = this.rooms.get(deviceId);
    if (!room) return;
    this.rooms.delete(deviceId);
    room.endAll({ type: "DeviceRemoved", message: `device '${deviceId}' was removed` });
    room.close();
  }

  private deviceStream(deviceId: string, encoding: PayloadEncoding, request: Request): Response {
    if (!this.daemon.hasDevice(deviceId)) {
      throw new DeviceNotFoundError(`No device found with ID: '${clip(deviceId, 140)}'`, {
        device_id: clip(deviceId, 140),
      });
    }
    // A device with nothing to stream is refused before the stream opens: a 200 followed by stream_error
    // would only make a browser's EventSource reconnect forever.
    const streams = this.daemon.canStream(deviceId);
    if (!streams && !this.daemon.forwardsServiceRequests(deviceId)) {
      throw doesNotStream(deviceId, this.daemon.deviceState(deviceId).deviceType);
    }
    // HEAD is answered from the GET route: it must neither start the device nor hold a stream open.
    if (request.method === "HEAD") return headersOnly();
    const refused = this.refusal();
    if (refused) return endedStream({ device_id: deviceId }, refused);
    const state = this.daemon.deviceState(deviceId);
    // Opening the first stream starts the device: a command, refused on a leased device without its lease
    // (X-Lease-Id, or ?lease_id= for a browser's EventSource). Joining a running stream is a read.
    // A device that only forwards service requests starts nothing: listening to it is a read.
    if (streams)
      this.daemon.assertClientMayStartStream(
        deviceId,
        request.headers.get("x-lease-id") ?? new URL(request.url).searchParams.get("lease_id") ?? undefined,
      );
    let last = parseLastEventId(request.headers.get("last-event-id"));
    // Beyond what this device ever sent: the id is from an earlier device of that name or server run.
    if (last !== undefined && last > state.lastSequence) last = undefined;
    let room = this.rooms.get(deviceId);
    if (last !== undefined && room?.stoppedSince(last)) {
      // 204 tells EventSource to stop reconnecting: a stop on request must not be undone by a reconnect.
      return new Response(null, { status: 204 });
    }
    if (streams && !state.streaming) {
      const owner = this.daemon.taskUsing(deviceId);
      if (owner) {
        return endedStream(
          { device_id: deviceId },
          {
            type: "DeviceInUse",
            message: `Device '${deviceId}' is owned by task '${owner}' and is not streaming; a stream client may join its stream but not start it`,
          },
        );
      }
    }
    if (!room) {
      room = new DeviceRoom(this.daemon, deviceId, {
        connection: this.connection,
        replay: this.replay,
        resumeGraceMs: this.options.resumeGraceMs ?? 5000,
      });
      this.rooms.set(deviceId, room);
    }
    return this.respond(room.join(request.signal, encoding, last), request);
  }

  private taskStream(taskId: string | undefined, request: Request): Response {
    if (request.method === "HEAD") return headersOnly();
    const refused = this.refusal();
    if (refused) return endedStream({}, refused);
    return this.respond(
      this.tasks.join(request.signal, parseLastEventId(request.headers.get("last-event-id")), taskId),
      request,
    );
  }

  private refusal(): { type: string; message: string } | null {
    if (this.closing) return { type: "ServerStopping", message: "the server is stopping" };
    const max = this.options.maxConnections ?? 1000;
    if (this.open.size >= max) return { type: "TooManyStreams", message: `${max} streams are open; try again later` };
    return null;
  }

  private respond(conn: SseConnection, request: Request): Response {
    conn.onStalledEnd = () => this.closeSocket?.(request);
    this.open.add(conn);
    conn.closed.then(() => this.open.delete(conn));
    return new Response(conn.stream, { headers: SSE_HEADERS });
  }
}

function parseLastEventId(v: string | null): number | undefined {
  if (v === null || !/^\d{1,15}$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function headersOnly(): Response {
  return new Response(null, { headers: SSE_HEADERS });
}

/**
 * A stream that says why it ends and ends: what EventSource needs to see instead of a bare failure. The
 * retry hint slows EventSource's automatic reconnects (3 s by default) while the refusal lasts.
 */
function endedStream(ids: Record<string, string>, error: { type: string; message: string }): Response {
  const text = `${formatComment("stream refused")}retry: ${REFUSED_RETRY_MS}\n\n${formatStreamError(ids, error)}`;
  return new Response(bytes(text), { headers: SSE_HEADERS });
}
