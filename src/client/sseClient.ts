// SSEClient: a device or task stream of a labdaemon server, with reconnects (exponential backoff,
// Last-Event-ID so the server replays what was missed) and gap reports from the sequence numbers.
import { ServerAPIError, ServerConnectionError, StreamEndedError, errorFromResponse } from "./errors.ts";
import { SseParser, type SseMessage } from "./sseParser.ts";
import { clip } from "../core/clip.ts";

export interface StreamEventMeta {
  /** The SSE event name: device_data, task_started, task_progress, … */
  event: string;
  id: string | undefined;
}

export interface StreamGap {
  /** The sequence expected next. */
  expected: number;
  /** The sequence that arrived instead. */
  received: number;
  /** Events lost in between (dropped by a full queue, or older than the server's replay buffer). */
  missed: number;
}

export interface SSEClientOptions {
  /** Receives each event's parsed data object: `event.sequence`, `event.payload`, … */
  onEvent?: (data: any, meta: StreamEventMeta) => void;
  /**
   * Connection failures (before a retry), HTTP errors and `stream_error` events. A stream that ends for good
   * without `stopStream()` always says why here last: the error that ended it, or a `StreamEndedError` of type
   * `StreamStoppedByClient` (status 204: a client stopped the stream while this one was away) or
   * `RetriesExhausted` (maxRetries reached).
   */
  onError?: (error: Error) => void;
  onGap?: (gap: StreamGap) => void;
  /** Each time a connection is established (the first and every reconnect). */
  onOpen?: () => void;
  token?: string;
  /**
   * Sent as X-Lease-Id on every connect and reconnect: starting the stream of a leased device is a command
   * that needs the lease (`{ ...lease.options }` of a `DeviceLease` sets it). `startDeviceStream` may override it.
   */
  leaseId?: string;
  /** `base64`: typed-array payloads travel as base64 and are decoded back into typed arrays. */
  encoding?: "json" | "base64";
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** First retry delay, doubled per failed attempt up to maxRetryMs (defaults 250 and 10000 ms). */
  initialRetryMs?: number;
  maxRetryMs?: number;
  /** Reconnects in a row without an event before giving up (default: never; 0: never reconnect). */
  maxRetries?: number;
  /** No bytes (not even a keep-alive) for this long means the connection is dead (default 45000 ms). */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Server-chosen ends after which a reconnect makes sense: the server may come back or free a slot, a task or
 * a script that stopped the stream (`StreamStopped`, not a client's `StreamStoppedByClient`) may start it
 * again, and a task that owns the device while it does not stream (`DeviceInUse`, with a retry hint) lets
 * clients join once it streams again. The other ends (a client's stop, a disconnect, a removed device, a
 * daemon shutting down) need someone to act first: a reconnect would only be refused or restart the device.
 */
const TRANSIENT_ENDS = new Set(["ServerStopping", "TooManyStreams", "StreamStopped", "DeviceInUse"]);

export interface SSEClientStats {
  events: number;
  gaps: number;
  missed: number;
  reconnects: number;
}

export class SSEClient {
  readonly baseUrl: string;
  /** The id of the last event received; sent as Last-Event-ID on reconnect. */
  lastEventId: string | undefined;
  readonly stats: SSEClientStats = { events: 0, gaps: 0, missed: 0, reconnects: 0 };
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private lastSequence: number | undefined;
  /** The server's `retry:` advice: the least wait before reconnecting. */
  private serverRetryMs = 0;
  /** A task stream for one task: its ids count all tasks' events, so jumps are not losses. */
  private filtered = false;
  /** The lease this stream is started with (X-Lease-Id). */
  private leaseId: string | undefined;

  constructor(
    baseUrl = "http://127.0.0.1:5000",
    private readonly opts: SSEClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  get running(): boolean {
    return this.loop !== null;
  }

  /** Resolves when the stream has ended for good (stopStream, a final error, a 204, or retries exhausted). */
  get finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** `leaseId`: the lease on the device, when this client holds one (default: the `leaseId` option). */
  startDeviceStream(deviceId: string, opts: { leaseId?: string } = {}): void {
    const q = this.opts.encoding === "base64" ? "?encoding=base64" : "";
    this.start(`/stream/devices/${encodeURIComponent(deviceId)}${q}`, false, opts.leaseId ?? this.opts.leaseId);
  }

  /** With `taskId`, only that task's events; `onGap` is then not called (the ids count every task's events). */
  startTaskStream(opts: { taskId?: string } = {}): void {
    this.start(
      `/stream/tasks${opts.taskId ? `?task_id=${encodeURIComponent(opts.taskId)}` : ""}`,
      Boolean(opts.taskId),
      undefined,
    );
  }

  /** Ends the stream and resolves once it is closed. */
  async stopStream(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  private start(path: string, filtered: boolean, leaseId: string | undefined): void {
    if (this.loop) throw new Error("Stream already running; call stopStream() first");
    this.lastEventId = undefined;
    this.lastSequence = undefined;
    this.filtered = filtered;
    this.leaseId = leaseId;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(path, abort.signal).finally(() => {
      this.loop = null;
      this.abort = null;
    });
  }

  private async run(path: string, signal: AbortSignal): Promise<void> {
    const initial = this.opts.initialRetryMs ?? 250;
    const max = this.opts.maxRetryMs ?? 10_000;
    const maxRetries = this.opts.maxRetries ?? Infinity;
    let delay = initial;
    let failures = 0;
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (attempt > 0) this.stats.reconnects++;
      const before = this.stats.events;
      let again: boolean;
      try {
        again = await this.connectOnce(path, signal);
      } catch (e) {
        if (signal.aborted) return;
        this.report(e instanceof Error ? e : new Error(String(e)));
        again = !(e instanceof ServerAPIError) || e instanceof ServerConnectionError || e.status >= 500;
      }
      if (!again || signal.aborted || this.opts.reconnect === false) return;
      if (this.stats.events > before) {
        delay = initial;
        failures = 0;
      } else if (failures++ >= maxRetries) {
        this.report(
          new StreamEndedError(
            `Stream ${path}: giving up after ${failures} attempt${failures === 1 ? "" : "s"} in a row without an event (maxRetries ${maxRetries})`,
            { status: 0, type: "RetriesExhausted" },
            { path, attempts: failures },
          ),
        );
        return;
      }
      // Jitter keeps many clients of one restarted server from reconnecting in lockstep.
      await sleep(Math.max(delay * (0.75 + Math.random() * 0.5), this.serverRetryMs), signal);
      delay = Math.min(delay * 2, max);
    }
  }

  /** One connection; resolves true when a reconnect should follow. */
  private async connectOnce(path: string, signal: AbortSignal): Promise<boolean> {
    const headers: Record<string, string> = { accept: "text/event-stream", "cache-control": "no-cache" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (this.lastEventId !== undefined) headers["last-event-id"] = this.lastEventId;
    if (this.leaseId !== undefined) headers["x-lease-id"] = this.leaseId;
    const idleMs = this.opts.idleTimeoutMs ?? 45_000;
    const conn = new AbortController();
    const onAbort = () => conn.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    let idleFired = false;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        idleFired = true;
        conn.abort();
      }, idleMs);
    };
    try {
      armIdle();
      let res: Response;
      try {
        res = await (this.opts.fetch ?? fetch)(this.baseUrl + path, { headers, signal: conn.signal });
      } catch (e) {
        if (signal.aborted) return false;
        throw new ServerConnectionError(
          `Failed to connect to ${this.baseUrl}: ${(e as Error)?.message ?? e}`,
          { status: 0, type: "ConnectionError" },
          { path },
          { cause: e },
        );
      }
      // 204: a client stopped the stream (stream/stop, disconnect) after our last event, while we were away;
      // the server asks us not to come back, as the stream_error we missed would have.
      if (res.status === 204) {
        this.report(
          new StreamEndedError(
            `StreamStoppedByClient: stream ${path} was stopped on a client's request while this client was away (204); not reconnecting`,
            { status: 204, type: "StreamStoppedByClient" },
            { path },
          ),
        );
        return false;
      }
      if (!res.ok) throw await errorFromResponse(res, "GET", path);
      const type = res.headers.get("content-type") ?? "";
      if (!type.toLowerCase().startsWith("text/event-stream")) {
        // Not a stream (a proxy's login page, a wrong URL): retrying would only fetch it again, forever.
        await res.body?.cancel().catch(() => {});
        throw new ServerAPIError(
          `GET ${path} answered ${res.status} with '${clip(type, 60) || "no content type"}', not an event stream`,
          { status: res.status, type: "InvalidResponse" },
          { path },
        );
      }
      if (!res.body) return true;
      this.opts.onOpen?.();
      let final: boolean | null = null;
      const parser = new SseParser((m) => {
        if (final === null) final = this.dispatch(m);
      });
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          armIdle();
          parser.feed(decoder.decode(value, { stream: true }));
          // The server's advice, within reason: an absurd value must neither stall nor (past 2^31 ms,
          // which timers turn into 1 ms) disable the backoff.
          if (parser.retryMs !== undefined)
            this.serverRetryMs = Math.min(parser.retryMs, Math.max(this.opts.maxRetryMs ?? 0, MAX_SERVER_RETRY_MS));
          if (final !== null) break;
        }
      } catch (e) {
        if (signal.aborted) return false;
        const why = idleFired ? `no data for ${idleMs} ms` : ((e as Error)?.message ?? String(e));
        this.report(
          new ServerConnectionError(
            `Stream ${path} broke: ${why}`,
            { status: 0, type: "ConnectionError" },
            { path },
            { cause: e },
          ),
        );
        return true;
      } finally {
        reader.cancel().catch(() => {});
      }
      // The server ended with stream_error: final says whether that end is worth a reconnect.
      if (final !== null) return final;
      if (!signal.aborted) {
        this.report(
          new ServerConnectionError(
            `Stream ${path} ended without a reason`,
            { status: 0, type: "ConnectionError" },
            { path },
          ),
        );
      }
      return true;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Handles one message; returns null to go on, or whether to reconnect after a stream_error. */
  private dispatch(m: SseMessage): boolean | null {
    let data: any;
    try {
      data = m.data === "" ? {} : JSON.parse(m.data);
    } catch {
      data = m.data;
    }
    if (m.event === "stream_error") {
      const err = data?.error ?? {};
      const type = typeof err.type === "string" ? err.type : "StreamError";
      this.report(
        new StreamEndedError(
          `${type}: ${err.message ?? ""}`,
          { status: 200, type, timestamp: data?.timestamp },
          data?.device_id ? { device_id: data.device_id } : {},
        ),
      );
      return TRANSIENT_ENDS.has(type);
    }
    if (m.id !== undefined) {
      this.lastEventId = m.id;
      // Only numeric ids are sequences; a filtered task stream skips the other tasks' numbers by design.
      if (!this.filtered && /^\d{1,15}$/.test(m.id)) this.checkSequence(Number(m.id));
    }
    this.stats.events++;
    if (this.opts.encoding === "base64" && data && typeof data === "object" && "payload" in data) {
      data.payload = decodeBinary(data.payload, 0);
    }
    try {
      this.opts.onEvent?.(data, { event: m.event, id: m.id });
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)));
    }
    return null;
  }

  private checkSequence(seq: number): void {
    const prev = this.lastSequence;
    this.lastSequence = seq;
    // Lower or equal: a restarted server or a new device of that name counts again; not a gap.
    if (prev === undefined || seq <= prev + 1) return;
    const gap: StreamGap = { expected: prev + 1, received: seq, missed: seq - prev - 1 };
    this.stats.gaps++;
    this.stats.missed += gap.missed;
    try {
      this.opts.onGap?.(gap);
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private report(e: Error): void {
    try {
      this.opts.onError?.(e);
    } catch {
      // a throwing error handler must not kill the stream
    }
  }
}

/** The longest wait a server's `retry:` may impose (unless maxRetryMs allows more). */
const MAX_SERVER_RETRY_MS = 60_000;

// A Map: a payload object {dtype: "toString", data: "…"} must stay data, not find Object.prototype's members.
const DTYPES = new Map<string, new (b: ArrayBuffer) => ArrayBufferView>([
  ["float64", Float64Array],
  ["float32", Float32Array],
  ["int8", Int8Array],
  ["uint8", Uint8Array],
  ["int16", Int16Array],
  ["uint16", Uint16Array],
  ["int32", Int32Array],
  ["uint32", Uint32Array],
  ["int64", BigInt64Array],
  ["uint64", BigUint64Array],
]);

/** `{dtype, data}` objects (what encoding=base64 made of typed arrays) back into typed arrays. */
function decodeBinary(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== "object" || depth > 32) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++)
      if (v[i] !== null && typeof v[i] === "object") v[i] = decodeBinary(v[i], depth + 1);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const Typed =
    keys.length === 2 && typeof o.dtype === "string" && typeof o.data === "string" ? DTYPES.get(o.dtype) : undefined;
  if (Typed) {
    const bytes = base64ToBytes(o.data as string);
    // A copy into a fresh buffer: typed arrays need their element alignment.
    return new Typed(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  for (const k of keys) if (o[k] !== null && typeof o[k] === "object") o[k] = decodeBinary(o[k], depth + 1);
  return o;
}

function base64ToBytes(s: string): Uint8Array {
  if (typeof Buffer !== "undefined") return Buffer.from(s, "base64");
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
