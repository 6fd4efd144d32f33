// One SSE client: a bounded queue of ready-made event bytes and the pull stream that drains it.
// The stream only pulls when the socket has taken the previous chunk, so a slow client fills its own
// queue (oldest events dropped and counted) and nothing else.
import { isoMillis } from "../../core/events.ts";
import { bytes, formatComment } from "./format.ts";

export interface QueueLimits {
  /** Events held for one client before the oldest is dropped. */
  maxEvents: number;
  /** Bytes held for one client before the oldest events are dropped. */
  maxBytes: number;
}

/** What every connection of a server shares. */
export interface ConnectionSettings {
  limits: QueueLimits;
  keepAliveMs: number;
  /**
   * How long a stream the server ended may take to hand its last events to the client before it is cut
   * off: a client that stopped reading would otherwise hold the connection forever. Default 30000 ms.
   */
  drainTimeoutMs?: number;
  /** Largest chunk handed to the socket at once (queued events are coalesced up to this). */
  maxChunkBytes?: number;
}

export interface ConnectionOptions extends ConnectionSettings {
  /** The request's signal: aborted when the client goes away, even while the stream is idle. */
  signal: AbortSignal;
  /** Runs once, however the connection ends. */
  onClose: (conn: SseConnection) => void;
}

export interface ConnectionStats {
  id: number;
  queued: number;
  queuedBytes: number;
  dropped: number;
  delivered: number;
  /** ISO-8601 UTC. */
  connectedAt: string;
}

let nextConnectionId = 1;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const KEEP_ALIVE = bytes(formatComment("keep-alive"));

export class SseConnection {
  readonly id = nextConnectionId++;
  readonly connectedAt = Date.now();
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves once the connection is over (drained and closed, cancelled or aborted). */
  readonly closed: Promise<void>;
  dropped = 0;
  delivered = 0;

  private chunks: Uint8Array[] = [];
  /** Index of the oldest queued chunk; the array is compacted now and then instead of shifted. */
  private head = 0;
  private queuedBytes = 0;
  private wake: (() => void) | null = null;
  private ending = false;
  private endedByServer = false;
  private done = false;
  private lastWrite = Date.now();
  private keepAliveTimer: ReturnType<typeof setTimeout> | null = null;
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
  private markClosed!: () => void;
  private readonly maxChunkBytes: number;

  constructor(private readonly opts: ConnectionOptions) {
    this.maxChunkBytes = opts.maxChunkBytes ?? 256 * 1024;
    this.closed = new Promise((r) => (this.markClosed = r));
    const onAbort = () => this.abort();
    if (opts.signal.aborted) queueMicrotask(onAbort);
    else opts.signal.addEventListener("abort", onAbort, { once: true });
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: (ctrl) => this.pull(ctrl),
        cancel: () => this.abort(),
      },
      // Zero: nothing is pulled ahead into the stream's own (unbounded) queue.
      { highWaterMark: 0 },
    );
    this.scheduleKeepAlive(opts.keepAliveMs);
  }

  get queued(): number {
    return this.chunks.length - this.head;
  }

  /** Slots of the queue's backing array, the queued events and the spent ones not yet given back. */
  get slots(): number {
    return this.chunks.length;
  }

  /** False once the server chose to end it: only a client that went away may come back to resume. */
  get isResumable(): boolean {
    return !this.endedByServer;
  }

  get isOpen(): boolean {
    return !this.done && !this.ending;
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      dropped: this.dropped,
      delivered: this.delivered,
      connectedAt: isoMillis(this.connectedAt),
    };
  }

  /** Queues a comment; it is not counted as an event, delivered or dropped. */
  comment(text: string): void {
    this.push(bytes(formatComment(text)));
  }

  /** Queues one event; when over a limit, the oldest queued events go first. */
  push(chunk: Uint8Array): void {
    if (!this.isOpen) return;
    const { maxEvents, maxBytes } = this.opts.limits;
    while (this.queued > 0 && (this.queued >= maxEvents || this.queuedBytes + chunk.byteLength > maxBytes)) {
      this.dropOldest();
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.byteLength;
    this.signal();
  }

  /** Queues a last chunk (never dropped), then closes once the client has been sent everything. */
  end(last?: Uint8Array): void {
    if (!this.isOpen) return;
    this.endedByServer = true;
    if (last) {
      const { maxBytes } = this.opts.limits;
      while (this.queued > 0 && this.queuedBytes + last.byteLength > maxBytes) this.dropOldest();
      this.chunks.push(last);
      this.queuedBytes += last.byteLength;
    }
    this.ending = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.drainTimer = setTimeout(() => this.abort(), this.opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    this.signal();
  }

  /**
   * Runs when the connection ends while no pull is waiting: the socket is backed up (the client stopped
   * reading) and the runtime will not pull again to see the end, so whoever owns the socket must close it.
   */
  onStalledEnd: (() => void) | null = null;

  /** Ends at once, without sending what is queued (client gone, or it would not drain in time). */
  abort(): void {
    if (this.done) return;
    this.ending = true;
    const stalled = this.wake === null;
    this.finish();
    this.signal();
    if (stalled && !this.opts.signal.aborted) this.onStalledEnd?.();
  }

  private dropOldest(): void {
    const c = this.chunks[this.head]!;
    this.chunks[this.head++] = undefined as unknown as Uint8Array;
    this.queuedBytes -= c.byteLength;
    if (!isComment(c)) this.dropped++;
    // A client that stopped reading never reaches take(): without this its array grows by one slot per
    // event for as long as the device streams, while only `queued` of them hold anything.
    this.compact();
  }

  /** Gives back the slots before `head` once they are most of the array (amortised O(1) per event). */
  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private signal(): void {
    const w = this.wake;
    if (w) {
      this.wake = null;
      w();
    }
  }

  private async pull(ctrl: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.queued === 0 && !this.ending && !this.done) {
      await new Promise<void>((r) => (this.wake = r));
    }
    if (this.done) {
      safeClose(ctrl);
      return;
    }
    if (this.queued === 0) {
      safeClose(ctrl);
      this.finish();
      return;
    }
    ctrl.enqueue(this.take());
  }

  /** Coalesces queued events into one chunk: one socket write for many small events. */
  private take(): Uint8Array {
    let n = 0;
    let size = 0;
    for (let i = this.head; i < this.chunks.length; i++) {
      const len = this.chunks[i]!.byteLength;
      if (n > 0 && size + len > this.maxChunkBytes) break;
      size += len;
      n++;
    }
    let out: Uint8Array;
    if (n === 1) {
      out = this.chunks[this.head]!;
    } else {
      out = new Uint8Array(size);
      let off = 0;
      for (let i = this.head; i < this.head + n; i++) {
        out.set(this.chunks[i]!, off);
        off += this.chunks[i]!.byteLength;
      }
    }
    for (let i = this.head; i < this.head + n; i++) {
      if (!isComment(this.chunks[i]!)) this.delivered++;
      this.chunks[i] = undefined as unknown as Uint8Array;
    }
    this.head += n;
    this.queuedBytes -= size;
    this.compact();
    this.lastWrite = Date.now();
    return out;
  }

  private scheduleKeepAlive(inMs: number): void {
    if (this.opts.keepAliveMs <= 0 || !this.isOpen) return;
    this.keepAliveTimer = setTimeout(() => {
      const idle = Date.now() - this.lastWrite;
      if (idle >= this.opts.keepAliveMs) {
        // A client that has not drained its queue is not idle: it needs no comment.
        if (this.queued === 0 && this.isOpen) {
          this.chunks.push(KEEP_ALIVE);
          this.queuedBytes += KEEP_ALIVE.byteLength;
          this.signal();
        }
        this.lastWrite = Date.now();
        this.scheduleKeepAlive(this.opts.keepAliveMs);
      } else {
        this.scheduleKeepAlive(this.opts.keepAliveMs - idle);
      }
    }, inMs);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.chunks = [];
    this.head = 0;
    this.queuedBytes = 0;
    try {
      this.opts.onClose(this);
    } finally {
      this.markClosed();
    }
  }
}

/** Comments (keep-alives, greetings) start with ':'; events start with a field name. Neither counts as an event. */
function isComment(chunk: Uint8Array): boolean {
  return chunk[0] === 0x3a;
}

function safeClose(ctrl: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    ctrl.close();
  } catch {
    // already closed or errored by the runtime after a disconnect
  }
}
