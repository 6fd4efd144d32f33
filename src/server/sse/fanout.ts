// One event source fanned out to many SSE connections: each event is formatted once per variant
// (e.g. per payload encoding) and the same bytes go into every connection's bounded queue. A bounded
// replay buffer keeps the last events for clients that come back with Last-Event-ID.
import type { ConnectionStats, SseConnection } from "./connection.ts";

export interface ReplayLimits {
  /** Events kept for Last-Event-ID resumes (0 disables replay). */
  maxEvents: number;
  /** Bytes kept, all variants together. */
  maxBytes: number;
}

/** One event as the wire needs it, per variant; a variant nobody listened to is absent. */
export interface HeldEvent<V extends string> {
  sequence: number;
  /** What a connection's filter looks at (e.g. the task id). */
  tag?: string;
  chunks: Partial<Record<V, Uint8Array>>;
  size: number;
}

export interface Sink<V extends string> {
  variant: V;
  accept?: (tag: string | undefined) => boolean;
}

export class Fanout<V extends string> {
  private readonly conns = new Map<SseConnection, Sink<V>>();
  private readonly perVariant = new Map<V, number>();
  private replay: HeldEvent<V>[] = [];
  private replayHead = 0;
  private replayBytes = 0;
  /** Drops of connections that have closed (the open ones count their own). */
  private droppedClosed = 0;

  constructor(private readonly replayLimits: ReplayLimits) {}

  get size(): number {
    return this.conns.size;
  }

  /** True when at least one open connection wants this variant (so it is worth formatting). */
  wants(variant: V): boolean {
    return (this.perVariant.get(variant) ?? 0) > 0;
  }

  /**
   * Adds a connection; first replays held events after `lastEventId` (synchronously, so no live event
   * can slip in between). Returns how many were replayed.
   */
  add(conn: SseConnection, sink: Sink<V>, lastEventId?: number): number {
    let replayed = 0;
    if (lastEventId !== undefined) {
      for (let i = this.replayHead; i < this.replay.length; i++) {
        const e = this.replay[i]!;
        if (e.sequence <= lastEventId) continue;
        const chunk = e.chunks[sink.variant];
        if (chunk && (!sink.accept || sink.accept(e.tag))) {
          conn.push(chunk);
          replayed++;
        }
      }
    }
    this.conns.set(conn, sink);
    this.perVariant.set(sink.variant, (this.perVariant.get(sink.variant) ?? 0) + 1);
    return replayed;
  }

  variantOf(conn: SseConnection): V | undefined {
    return this.conns.get(conn)?.variant;
  }

  remove(conn: SseConnection): boolean {
    const sink = this.conns.get(conn);
    if (!sink) return false;
    this.conns.delete(conn);
    this.perVariant.set(sink.variant, (this.perVariant.get(sink.variant) ?? 1) - 1);
    this.droppedClosed += conn.dropped;
    return true;
  }

  /** Sends an event to every connection that accepts it, and holds it for replay. */
  publish(event: HeldEvent<V>): void {
    for (const [conn, sink] of this.conns) {
      const chunk = event.chunks[sink.variant];
      if (chunk && (!sink.accept || sink.accept(event.tag))) conn.push(chunk);
    }
    this.hold(event);
  }

  /** Sends `chunk` to every connection as it is, without holding it for replay (an event outside the
   * sequence, e.g. a service request). */
  publishLive(chunk: Uint8Array): void {
    for (const conn of this.conns.keys()) conn.push(chunk);
  }

  /** Sends `last` to every connection and ends them; they close once drained. */
  endAll(last: Uint8Array): void {
    for (const conn of [...this.conns.keys()]) conn.end(last);
  }

  connections(): SseConnection[] {
    return [...this.conns.keys()];
  }

  dropped(): number {
    let n = this.droppedClosed;
    for (const c of this.conns.keys()) n += c.dropped;
    return n;
  }

  clientStats(): (ConnectionStats & { variant: V })[] {
    return [...this.conns].map(([c, s]) => ({ ...c.stats(), variant: s.variant }));
  }

  replayStats(): { events: number; bytes: number; oldest: number | null; newest: number | null } {
    const n = this.replay.length - this.replayHead;
    return {
      events: n,
      bytes: this.replayBytes,
      oldest: n ? this.replay[this.replayHead]!.sequence : null,
      newest: n ? this.replay[this.replay.length - 1]!.sequence : null,
    };
  }

  private hold(event: HeldEvent<V>): void {
    const { maxEvents, maxBytes } = this.replayLimits;
    if (maxEvents <= 0 || event.size > maxBytes) return;
    this.replay.push(event);
    this.replayBytes += event.size;
    while (this.replay.length - this.replayHead > maxEvents || this.replayBytes > maxBytes) {
      const old = this.replay[this.replayHead]!;
      this.replay[this.replayHead++] = undefined as unknown as HeldEvent<V>;
      this.replayBytes -= old.size;
    }
    if (this.replayHead > 1024 && this.replayHead * 2 > this.replay.length) {
      this.replay = this.replay.slice(this.replayHead);
      this.replayHead = 0;
    }
  }
}
