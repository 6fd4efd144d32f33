// An open network resource on the event loop: the same requests as the addon's NativeSession (so
// MessageInstrument drives either), run one at a time in the order they were made, each with its own
// deadline from the moment it starts (requestQueue.ts). Framing (termination, exact counts, IEEE 488.2
// blocks) and the recovery rules follow native/io/session.cc: a timed-out read or write clears the
// interface before the next request; an answer that cannot be framed is dropped with a device clear.
// A query made while nothing runs, on a transport that frames in its data callback (SOCKET), takes the
// fast path (fastPath.ts): written at once, framed by a reader that settles the caller in the callback.
// Over 400 lines: every request kind shares the framing state (rx, the pending clear, the last block's length).
import { isUndetachable } from "../binaryBlock.ts";
import { NetIoError } from "../ioErrors.ts";
import type { HandOverSession } from "../session.ts";
import { FastPath } from "./fastPath.ts";
import { ECANCELED } from "./linkErrors.ts";
import { NATIVE_READ_ABOVE, type WorkerBlock } from "./fdReader.ts";
import { DIRECT_ABOVE, termBytes } from "./frameReaders.ts";
import type { NetTransport } from "./netTransport.ts";
import { RequestQueue } from "./requestQueue.ts";
import { decode } from "./rxBuffer.ts";

export class NetSession implements HandOverSession {
  readonly resource: string;
  readonly interfaceType: string;
  #t: NetTransport;
  readonly #q: RequestQueue;
  #clearPending = false;
  /** close({ abort: true }) was called: nothing reconnects or is sent any more. */
  #aborted = false;
  #lastTakeEnded = false;
  /** The length of the last block answer when it was large enough for a worker to read the next whole. */
  #bigBlock = 0;
  readonly #fastPath: FastPath | null = null;

  /** `given` is the resource string as the caller wrote it (errors carry it); `canonical` the normalised one. */
  constructor(given: string, canonical: string, transport: NetTransport) {
    this.#q = new RequestQueue(given);
    this.resource = canonical;
    this.interfaceType = transport.interfaceType;
    this.#t = transport;
    if (transport.readFrame) {
      this.#fastPath = new FastPath({
        transport,
        queue: this.#q,
        ready: () => this.#ready(),
        note: (e) => this.#note(e),
        take: (n, skip, enc) => this.#take(n, skip, enc),
        slow: (kind, bytes, term, maxBytes, enc, d, before) => this.#slow(kind, bytes, term, maxBytes, enc, d, before),
      });
    }
  }

  open(timeoutMs: number): Promise<void> {
    return this.#q.submit(timeoutMs, (d) => this.#ensureOpen(d));
  }

  write(data: string | Uint8Array, timeoutMs: number): Promise<number> {
    const bytes = bytesArg(data);
    return this.#q.submit(timeoutMs, async (d) => {
      await this.#write(bytes, d);
      return typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.byteLength;
    });
  }

  read(term: string, maxBytes: number, timeoutMs: number, enc: number): Promise<string | Uint8Array> {
    return this.#q.submit(timeoutMs, (d) => this.#readUntil(termBytes(term), maxBytes, d, enc));
  }

  readBytes(n: number, timeoutMs: number, enc: number): Promise<string | Uint8Array> {
    return this.#q.submit(timeoutMs, async (d) => {
      const bytes = await this.#readExact(n, d);
      return enc === 0 ? bytes : decode(bytes, enc);
    });
  }

  query(
    data: string | Uint8Array,
    term: string,
    maxBytes: number,
    timeoutMs: number,
    enc: number,
  ): Promise<string | Uint8Array> {
    const bytes = bytesArg(data);
    const t = termBytes(term);
    const f = this.#fastPath;
    const d = f ? this.#q.begin(timeoutMs) : -1;
    if (d >= 0) return f!.query(f!.line, bytes, t, maxBytes, enc, d);
    return this.#q.submit(timeoutMs, (d) => {
      const sent = this.#writeQuery(bytes, d);
      return sent ? sent.then(() => this.#readUntil(t, maxBytes, d, enc)) : this.#readUntil(t, maxBytes, d, enc);
    });
  }

  queryBlock(
    data: string | Uint8Array | null,
    term: string,
    maxBytes: number,
    timeoutMs: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    const bytes = data === null ? null : bytesArg(data);
    const t = termBytes(term);
    const onWorker = (this.#bigBlock > 0 || (into?.byteLength ?? 0) >= NATIVE_READ_ABOVE) && this.#workerReady();
    const f = onWorker ? null : this.#fastPath;
    const d = bytes && f ? this.#q.begin(timeoutMs) : -1;
    if (d >= 0) return f!.query(f!.block, bytes!, t, maxBytes, 0, d) as Promise<Uint8Array>;
    return this.#q.submit(timeoutMs, async (d) => {
      if (!bytes) return this.#readBlock(t, maxBytes, d, into);
      const sent = this.#writeQuery(bytes, d);
      if (sent) await sent;
      // Sent at once, and the event loop has not turned since: no byte of the answer has reached bun yet.
      else if (onWorker && this.#workerReady()) return this.#blockOnWorker(t, maxBytes, d, into);
      return this.#readBlock(t, maxBytes, d, into);
    });
  }

  // A request begun on the fast path, the general way: after `before`, write `bytes` (unless null), read.
  #slow(
    kind: "line" | "block",
    bytes: Uint8Array | string | null,
    term: Uint8Array | number,
    maxBytes: number,
    enc: number,
    d: number,
    before?: Promise<void>,
  ): Promise<string | Uint8Array> {
    return this.#q.runStarted(async (d) => {
      if (before) await before;
      if (bytes !== null) await this.#writeQuery(bytes, d);
      return kind === "line" ? this.#readUntil(term, maxBytes, d, enc) : this.#readBlock(term, maxBytes, d);
    }, d);
  }

  clear(timeoutMs: number): Promise<void> {
    return this.#q.submit(timeoutMs, (d) => this.#clear(d));
  }

  lock(timeoutMs: number): Promise<void> {
    return this.#q.submit(timeoutMs, async (d) => {
      await this.#ensureOpen(d);
      await this.#t.lock(d, timeoutMs);
    });
  }

  lockShared(timeoutMs: number, key: string): Promise<void> {
    return this.#q.submit(timeoutMs, async (d) => {
      if (this.interfaceType !== "HISLIP") throw new NetIoError("unsupported", "shared locks are a HiSLIP feature");
      if (!this.#ready()) await this.#ensureOpen(d);
      await this.#t.lock(d, timeoutMs, key);
    });
  }

  remoteLocal(code: number, timeoutMs: number): Promise<void> {
    return this.#q.submit(timeoutMs, async (d) => {
      if (!this.#t.remoteLocal) throw new NetIoError("unsupported", "remote/local control is a HiSLIP feature here");
      if (!this.#ready()) await this.#ensureOpen(d);
      await this.#t.remoteLocal(d, code);
    });
  }

  unlock(timeoutMs: number): Promise<void> {
    return this.#q.submit(timeoutMs, async (d) => {
      await this.#ensureOpen(d);
      await this.#t.unlock(d);
    });
  }

  /** After the requests already made (or, with `abort`, failing the one waiting for I/O now). */
  close(abort = false): Promise<void> {
    // The request in progress may be between two steps: it must not reconnect, nor send, from now on.
    if (abort) this.#aborted = true;
    if (abort && this.#q.running) {
      this.#q.failWaiting(new NetIoError("connection", "closed before this request's turn", ECANCELED, "ECANCELED"));
      this.#t.abort();
    }
    const done = this.#q.submit(1000, async () => {
      this.#t.rx.reset();
      this.#clearPending = false;
      this.#t.close();
      this.#t.dispose?.();
    });
    this.#q.close();
    return done;
  }

  /** Service requests to `onSrq` with the status byte; rejects with DeviceConfigurationError where the
   * interface has none. A status byte the request did not carry is read in the request's turn. */
  enableServiceRequests(onSrq: (statusByte: number | null) => void, timeoutMs: number): Promise<void> {
    const withStatus = (stb?: number): void => {
      if (stb !== undefined || !this.#t.statusByte) return onSrq(stb ?? null);
      this.#q
        .submit(timeoutMs, async (d) => (this.#ready() ? this.#t.statusByte!(d) : null))
        .then(onSrq, () => onSrq(null));
    };
    return this.#q.submit(timeoutMs, async (d) => {
      if (!this.#t.enableSrq)
        throw new NetIoError(
          "unsupported",
          `a ${this.interfaceType === "SOCKET" ? "raw socket" : this.interfaceType} resource has no service requests`,
        );
      if (!this.#ready()) await this.#ensureOpen(d);
      await this.#t.enableSrq(d, withStatus);
    });
  }

  disconnect(): Promise<void> {
    return this.#q.submit(1000, async () => {
      this.#t.rx.reset();
      this.#t.close();
    });
  }

  after(wait: () => Promise<unknown>): Promise<void> {
    return this.#q.submit(1000, async () => {
      await wait().catch(() => undefined);
    });
  }

  /** A request that does no I/O: what a trip through the queue costs (bench). */
  ping(): Promise<void> {
    return this.#q.submit(1000, async () => undefined);
  }

  /** Whether requests are queued or running (an acquisition taking the instrument over waits for none). */
  get busy(): boolean {
    return this.#q.running;
  }

  // Connects when closed (a session whose peer went away reconnects); clears the interface first when
  // a read or write timed out since. Done here, not at the timeout: a device clear sent to an instrument
  // that just stopped answering could hold the timed-out caller another round; here it counts against
  // this request's deadline.
  #ready(): boolean {
    return !this.#clearPending && this.#t.isOpen;
  }

  async #ensureOpen(d: number): Promise<void> {
    if (this.#aborted)
      throw new NetIoError("connection", "closed while this request was in progress", ECANCELED, "ECANCELED");
    if (!this.#t.isOpen) {
      this.#t.rx.reset();
      await this.#t.open(d);
    }
    if (!this.#clearPending) return;
    this.#clearPending = false;
    try {
      await this.#t.clear(d);
    } catch (e) {
      if (e instanceof NetIoError && (e.kind === "connection" || e.kind === "timeout")) {
        this.#clearPending = true;
        if (e.kind === "connection") this.#fail();
        throw e;
      }
      // An instrument that refuses device clear (VXI-11 error 8) has nothing more to give up.
    }
  }

  #fail(): void {
    this.#t.rx.reset();
    this.#t.close();
  }

  // A broken connection closes (the next request reconnects); a timeout gives up the message: what came
  // of it is dropped, and its late rest is cleared before the next request.
  #failed(e: unknown): never {
    this.#note(e);
    throw e;
  }

  #note(e: unknown): void {
    if (e instanceof NetIoError) {
      if (e.kind === "connection") this.#fail();
      else if (e.kind === "timeout") {
        this.#t.rx.reset();
        this.#t.timedOut?.();
        this.#clearPending = true;
      }
    }
  }

  // Synchronous (undefined) in the usual case: open, nothing stray to drop, the command sent at once.
  #writeQuery(command: Uint8Array | string, d: number): Promise<void> | undefined {
    if (!this.#ready()) return this.#ensureOpen(d).then(() => this.#writeQuery(command, d));
    this.#t.rx.reset();
    const dropped = this.#t.discardInput();
    if (dropped) return dropped.then(() => this.#write(command, d));
    return this.#write(command, d);
  }

  // A write cut short by its deadline leaves part of a command in the instrument's input: the next
  // request clears the interface first, as after a timed-out read.
  #write(data: Uint8Array | string, d: number): Promise<void> | undefined {
    if (!this.#ready()) return this.#ensureOpen(d).then(() => this.#write(data, d));
    try {
      const rest = this.#t.write(data, d);
      return rest ? rest.catch((e) => this.#failed(e)) : undefined;
    } catch (e) {
      this.#failed(e);
    }
  }

  async #fill(d: number, want: number): Promise<void> {
    try {
      await this.#t.fill(d, want);
    } catch (e) {
      this.#failed(e);
    }
  }

  #take(n: number, skip: number, enc: number): string | Uint8Array {
    const rx = this.#t.rx;
    const out = decode(rx.buf, enc, rx.pos, rx.pos + n);
    rx.pos += n + skip;
    this.#lastTakeEnded = rx.endAt >= 0 && rx.pos >= rx.endAt;
    if (this.#lastTakeEnded) rx.endAt = -1;
    if (rx.pos >= rx.len) {
      rx.reset();
      this.#t.settled?.();
    }
    return out;
  }

  async #readUntil(term: Uint8Array | number, maxBytes: number, d: number, enc: number): Promise<string | Uint8Array> {
    if (!this.#ready()) await this.#ensureOpen(d);
    const rx = this.#t.rx;
    const termLen = typeof term === "number" ? 1 : term.byteLength;
    let from = rx.pos;
    for (;;) {
      if (termLen > 0) {
        const at = rx.find(term, from);
        if (at >= 0 && (rx.endAt < 0 || at < rx.endAt)) return this.#take(at - rx.pos, termLen, enc);
        from = Math.max(rx.pos, rx.len - (termLen - 1));
      }
      if (rx.endAt >= 0) return this.#take(rx.endAt - rx.pos, 0, enc);
      // Without a termination a message ends at the interface's END; a raw socket has none.
      if (termLen === 0 && rx.buffered > 0 && !this.#t.marksEnd) return this.#take(rx.buffered, 0, enc);
      if (rx.buffered >= maxBytes) await this.#abandon(d, `no read termination within ${maxBytes} bytes`);
      const before = rx.pos;
      try {
        await this.#t.fill(d, 0);
      } catch (e) {
        this.#failed(e);
      }
      from -= before - rx.pos; // the buffer may have moved its live bytes to the front
    }
  }

  async #readExact(n: number, d: number, into?: Uint8Array): Promise<Uint8Array> {
    await this.#ensureOpen(d);
    const rx = this.#t.rx;
    if (n - Math.min(n, rx.buffered) < DIRECT_ABOVE) {
      while (rx.buffered < n) await this.#fill(d, n - rx.buffered);
      return this.#take(n, 0, 0) as Uint8Array;
    }
    // A large payload (a waveform block) is read straight into the buffer the caller receives.
    const out = into && n <= into.byteLength ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    try {
      this.#lastTakeEnded = await this.#t.readInto(out, 0, d, out.buffer !== into?.buffer || isUndetachable(out));
    } catch (e) {
      this.#failed(e);
    }
    return out;
  }

  async #readBlock(term: Uint8Array | number, maxBytes: number, d: number, into?: Uint8Array): Promise<Uint8Array> {
    await this.#ensureOpen(d);
    const rx = this.#t.rx;
    // Instruments may echo a header before the block ("CURV #41234…"): skip to the '#', but no further
    // than an unterminated answer may run. A whole message before any '#' (an error string, a number)
    // is the answer, and not a block: it fails at once instead of at the deadline.
    const termLen = typeof term === "number" ? 1 : term.byteLength;
    let skipped = 0;
    for (;;) {
      const hash = rx.find(0x23, rx.pos);
      const end = termLen > 0 ? rx.find(term, rx.pos) : -1;
      if (hash >= 0 && (end < 0 || hash < end)) {
        rx.pos = hash;
        break;
      }
      if (end >= 0 || rx.endAt >= 0) {
        // Taken, so that it is not the next read's answer.
        const byEnd = rx.endAt >= 0 && (end < 0 || rx.endAt <= end);
        const text = byEnd
          ? this.#take(rx.endAt - rx.pos, 0, ENC_LATIN1)
          : this.#take(end - rx.pos, termLen, ENC_LATIN1);
        throw new NetIoError("device", notABlock(text as string));
      }
      const keep = Math.max(rx.pos, rx.len - Math.max(0, termLen - 1)); // a termination split between two reads
      skipped += keep - rx.pos;
      if (skipped >= maxBytes) await this.#abandon(d, `no IEEE 488.2 block header within ${maxBytes} bytes`);
      rx.pos = keep;
      await this.#fill(d, 0);
    }
    while (rx.buffered < 2) await this.#fill(d, 0);
    const digits = rx.buf[rx.pos + 1]! - 0x30;
    if (digits < 0 || digits > 9)
      await this.#abandon(d, "malformed IEEE 488.2 block header: '#' not followed by a digit");
    if (digits === 0) {
      rx.pos += 2;
      return (await this.#readUntil(term, maxBytes, d, 0)) as Uint8Array; // indefinite length: ends with the message
    }
    while (rx.buffered < 2 + digits) await this.#fill(d, 0);
    let len = 0;
    for (let i = 0; i < digits; i++) {
      const c = rx.buf[rx.pos + 2 + i]! - 0x30;
      if (c < 0 || c > 9) await this.#abandon(d, "malformed IEEE 488.2 block header: length is not decimal");
      len = len * 10 + c;
    }
    rx.pos += 2 + digits;
    return this.#blockData(len, null, term, maxBytes, d, into);
  }

  #workerReady(): boolean {
    return this.#t.workerReady?.() ?? false;
  }

  // The answer to a block query just written, read by a native worker from its first byte into `into`, or
  // else a buffer of the last block's length (a waveform's length rarely changes). A longer block, or no
  // block at all, goes on the general way from what the worker took.
  async #blockOnWorker(term: Uint8Array | number, maxBytes: number, d: number, into?: Uint8Array): Promise<Uint8Array> {
    const dest = into ?? Buffer.allocUnsafe(Math.min(this.#bigBlock, maxBytes));
    const t = typeof term === "number" ? new Uint8Array([term]) : term;
    let r: WorkerBlock | null;
    try {
      r = await this.#t.readBlockOnWorker!(dest, !into || isUndetachable(into), t, d);
    } catch (e) {
      this.#failed(e);
    }
    if (r?.filled && !into && r.length * 2 < dest.byteLength) {
      // Much shorter than the last block: keep a buffer of its own size, not a view of the guess.
      return this.#blockData(r.length, r, term, maxBytes, d, Uint8Array.prototype.slice.call(dest, 0, r.length));
    }
    if (r && r.length !== undefined) return this.#blockData(r.length, r.filled ? r : null, term, maxBytes, d, dest);
    this.#bigBlock = 0;
    if (r) this.#t.rx.append(r.consumed);
    return this.#readBlock(term, maxBytes, d, into);
  }

  // A block's data of `len` bytes — already in `dest` when a worker `read` it, else read now (into `dest`
  // when it fits) — and the termination after it.
  async #blockData(
    len: number,
    read: { termRead: boolean } | null,
    term: Uint8Array | number,
    maxBytes: number,
    d: number,
    dest?: Uint8Array,
  ): Promise<Uint8Array> {
    if (len > maxBytes) await this.#abandon(d, `IEEE 488.2 block of ${len} bytes exceeds the limit`);
    const data = read ? dest!.subarray(0, len) : await this.#readExact(len, d, dest);
    this.#bigBlock = len >= NATIVE_READ_ABOVE && this.#workerReady() ? len : 0;
    const termLen = typeof term === "number" ? 1 : term.byteLength;
    if (read) {
      this.#lastTakeEnded = read.termRead;
      // The whole answer is consumed, its termination too: nothing of it is left on its way.
      if (read.termRead || termLen === 0) this.#t.settled?.();
    }
    // The terminator after the block (or, without one, the rest up to END) belongs to this message; leave
    // nothing behind for the next read.
    if ((termLen > 0 || this.#t.marksEnd) && !this.#lastTakeEnded) await this.#readUntil(term, maxBytes, d, 0);
    return data;
  }

  async #clear(d: number): Promise<void> {
    this.#t.rx.reset();
    if (!this.#t.isOpen) return;
    try {
      await this.#t.clear(d);
    } catch (e) {
      if (e instanceof NetIoError && e.kind === "connection") this.#fail();
      throw e;
    }
    this.#clearPending = false;
  }

  // After an answer that cannot be framed: drop what is buffered (device clear where there is one), so
  // its bytes never become the next answer.
  async #abandon(d: number, why: string): Promise<never> {
    // The rest of the answer may still be coming: where the interface has no device clear (a raw
    // socket), only a new connection is rid of it, as after a timeout.
    this.#t.timedOut?.();
    try {
      await this.#clear(d);
    } catch {
      // The buffer is already gone (and a broken link closed); the framing error is the one to report.
    }
    throw new NetIoError("device", why);
  }
}

// Strings go to the socket as they are (bun writes them as UTF-8, as the addon does).
function bytesArg(data: string | Uint8Array): Uint8Array | string {
  if (typeof data === "string") return data;
  if (data instanceof Uint8Array) return data;
  throw new TypeError("data must be a string or a Uint8Array");
}

const ENC_LATIN1 = 2;

/** The error for a whole answer with no block in it, showing its start. */
function notABlock(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return `expected an IEEE 488.2 block, got the answer '${shown}'`;
}
