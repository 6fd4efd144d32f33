// The idle fast path's readers (netSession.ts): a terminated message, or a small definite-length
// IEEE 488.2 block, framed in the socket's data callback, which settles the caller's promise itself — no
// turn of the event loop and no promise chain between the answer arriving and the caller resuming.
// Anything unusual (no terminator within maxBytes, an echoed header, a large block) is handed to the
// session's general path from the same buffered bytes: a reader takes nothing until its message is whole.
import type { NetIoError } from "../ioErrors.ts";
import type { RxBuffer } from "./rxBuffer.ts";
import type { FrameReader } from "./tcpLink.ts";

const utf8 = new TextEncoder();
const terms = new Map<string, Uint8Array | number>();

/** A read termination as the framing searches for it: one byte as a number, else its UTF-8 bytes. */
export function termBytes(term: string): Uint8Array | number {
  let t = terms.get(term);
  if (t === undefined) {
    const bytes = utf8.encode(term);
    t = bytes.byteLength === 1 ? bytes[0]! : bytes;
    if (terms.size >= 64) terms.clear(); // readRaw(term) may be given any number of different ones
    terms.set(term, t);
  }
  return t;
}

/** Blocks from this size on are read straight into the caller's buffer by the general path. */
export const DIRECT_ABOVE = 65536;

export interface ReaderHost {
  /** Takes `n` bytes from rx (decoded as `enc`, 0: a copy of the bytes) and drops `skip` more. */
  take(n: number, skip: number, enc: number): string | Uint8Array;
  /** Finishes the request by the general path from what rx holds now; settles like any request. */
  general(r: SessionReader): Promise<string | Uint8Array>;
  /** A failed request's bookkeeping (a timeout clears the interface next time); the caller's error. */
  failure(e: NetIoError): unknown;
  /** The caller is settled: the next request in line may start (from inside this call). */
  finished(): void;
}

type Settle = (v: string | Uint8Array | Promise<string | Uint8Array>) => void;

/** One per session and kind, reused: one request runs at a time. */
export abstract class SessionReader implements FrameReader {
  term: Uint8Array | number = 10;
  termLen = 1;
  maxBytes = 0;
  enc = 0;
  deadline = 0;
  /** Bytes after rx.pos already searched for the terminator (rx.pos does not move while a reader waits). */
  scanned = 0;
  #resolve: Settle | null = null;
  #reject: ((e: unknown) => void) | null = null;

  constructor(
    readonly kind: "line" | "block",
    protected readonly host: ReaderHost,
  ) {}

  /** The promise the caller receives; the session then hands this reader to the transport. */
  start(term: Uint8Array | number, maxBytes: number, enc: number, deadline: number): Promise<string | Uint8Array> {
    this.term = term;
    this.termLen = typeof term === "number" ? 1 : term.byteLength;
    this.maxBytes = maxBytes;
    this.enc = enc;
    this.deadline = deadline;
    this.scanned = 0;
    return new Promise<string | Uint8Array>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  abstract input(rx: RxBuffer): boolean;

  fail(e: NetIoError): void {
    const reject = this.#reject!;
    this.#resolve = this.#reject = null;
    reject(this.host.failure(e));
    this.host.finished();
  }

  protected done(v: string | Uint8Array): true {
    const resolve = this.#resolve!;
    this.#resolve = this.#reject = null;
    resolve(v);
    this.host.finished();
    return true;
  }

  // The general path settles the caller and starts the next request itself.
  protected handOff(): true {
    const resolve = this.#resolve!;
    this.#resolve = this.#reject = null;
    resolve(this.host.general(this));
    return true;
  }
}

/** A message up to its read termination (the general path handles END marks and overlong answers). */
export class LineReader extends SessionReader {
  constructor(host: ReaderHost) {
    super("line", host);
  }

  input(rx: RxBuffer): boolean {
    if (this.termLen === 0 || rx.endAt >= 0) return this.handOff();
    const at = rx.find(this.term, rx.pos + this.scanned);
    if (at >= 0) return this.done(this.host.take(at - rx.pos, this.termLen, this.enc));
    if (rx.buffered >= this.maxBytes) return this.handOff();
    this.scanned = Math.max(0, rx.buffered - (this.termLen - 1));
    return false;
  }
}

/** `#<digits><length><data>` with a length below DIRECT_ABOVE, and the termination after it. */
export class BlockReader extends SessionReader {
  constructor(host: ReaderHost) {
    super("block", host);
  }

  input(rx: RxBuffer): boolean {
    const buf = rx.buf,
      p = rx.pos;
    if (rx.buffered < 2) return false;
    if (buf[p] !== 0x23) return this.handOff(); // an echoed header before the block, or no block
    const digits = buf[p + 1]! - 0x30;
    if (digits < 1 || digits > 9) return this.handOff();
    if (rx.buffered < 2 + digits) return false;
    let len = 0;
    for (let i = p + 2; i < p + 2 + digits; i++) {
      const c = buf[i]! - 0x30;
      if (c < 0 || c > 9) return this.handOff();
      len = len * 10 + c;
    }
    if (len >= DIRECT_ABOVE || len > this.maxBytes) return this.handOff();
    const end = p + 2 + digits + len;
    if (rx.len < end) return false;
    // The terminator after the block belongs to this message; what comes between is dropped with it.
    let skip = 0;
    if (this.termLen > 0) {
      if (rx.endAt >= 0) return this.handOff();
      const at = rx.find(this.term, end);
      if (at < 0) return rx.len - end >= this.maxBytes ? this.handOff() : false;
      skip = at - end + this.termLen;
    }
    rx.pos = p + 2 + digits;
    return this.done(this.host.take(len, skip, 0));
  }
}
