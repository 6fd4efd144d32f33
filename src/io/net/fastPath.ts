// A NetSession's idle fast path: a query made while nothing runs, on a transport that frames in its data
// callback (SOCKET), is written at once and handed to a reader (frameReaders.ts) that settles the caller
// there. Anything unusual — not open, input to drop first, a write the kernel did not take whole — runs
// the session's general path with the same deadline.
import { BlockReader, LineReader, type SessionReader } from "./frameReaders.ts";
import type { NetTransport } from "./netTransport.ts";
import type { RequestQueue } from "./requestQueue.ts";

type Answer = string | Uint8Array;

/** What the fast path needs of its session. */
export interface FastPathSession {
  readonly transport: NetTransport;
  readonly queue: RequestQueue;
  /** Open, and no interface clear pending. */
  ready(): boolean;
  /** A failed request's bookkeeping (timeout: clear before the next request; broken link: close). */
  note(e: unknown): void;
  take(n: number, skip: number, enc: number): Answer;
  /** The general path for a request begun here: after `before`, write `bytes` (unless null), read. */
  slow(
    kind: "line" | "block",
    bytes: Uint8Array | string | null,
    term: Uint8Array | number,
    maxBytes: number,
    enc: number,
    d: number,
    before?: Promise<void>,
  ): Promise<Answer>;
}

export class FastPath {
  readonly line: LineReader;
  readonly block: BlockReader;
  readonly #s: FastPathSession;

  constructor(s: FastPathSession) {
    this.#s = s;
    const host = {
      take: s.take,
      general: (r: SessionReader) => s.slow(r.kind, null, r.term, r.maxBytes, r.enc, r.deadline),
      failure: (e: Parameters<SessionReader["fail"]>[0]) => {
        s.note(e);
        return s.queue.callerError(e);
      },
      finished: () => s.queue.finished(),
    };
    this.line = new LineReader(host);
    this.block = new BlockReader(host);
  }

  /** Runs a query the queue was marked busy for (RequestQueue.begin gave `d`). */
  query(
    r: SessionReader,
    bytes: Uint8Array | string,
    term: Uint8Array | number,
    maxBytes: number,
    enc: number,
    d: number,
  ): Promise<Answer> {
    const s = this.#s,
      t = s.transport;
    if (!s.ready()) return s.slow(r.kind, bytes, term, maxBytes, enc, d);
    t.rx.reset();
    const dropped = t.discardInput();
    if (dropped) return s.slow(r.kind, bytes, term, maxBytes, enc, d, dropped);
    let rest: Promise<void> | void;
    try {
      rest = t.write(bytes, d);
    } catch (e) {
      s.note(e);
      s.queue.finished();
      return Promise.reject(s.queue.callerError(e));
    }
    if (rest) {
      const sent = rest.catch((e) => {
        s.note(e);
        throw e;
      });
      return s.slow(r.kind, null, term, maxBytes, enc, d, sent);
    }
    const p = r.start(term, maxBytes, enc, d);
    t.readFrame!(r, d);
    return p;
  }
}
