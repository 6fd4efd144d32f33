// One TCP connection on bun's event loop: received bytes go into an RxBuffer (or straight into the
// destination of a large read), and a caller awaits "more bytes" with a deadline, or hands in a
// FrameReader that frames its message in the data callback itself. No thread is involved: the answer
// wakes the JS thread once, where a native session thread would be woken and then wake it. The one
// exception is the rest of a large block (see NATIVE_READ_ABOVE).
import type { Socket } from "bun";
import { NetIoError } from "../ioErrors.ts";
import { type FdReader, fdReaders, NATIVE_READ_ABOVE, type WorkerBlock } from "./fdReader.ts";
import { ECONNRESET, ENOTCONN, EPIPE, osMessage, timeoutError } from "./linkErrors.ts";
import { RxBuffer } from "./rxBuffer.ts";

const nonAscii = /[^\x00-\x7f]/;

interface Waiter {
  resolve: () => void;
  reject: (e: NetIoError) => void;
  deadline: number;
  what: string;
}

/** Frames one message from the received bytes, called in the data callback (no turn of the event loop
 * between the bytes arriving and the caller's promise settling). */
export interface FrameReader {
  /** Looks at rx (now, then after each input): true when it took its message and settled its caller. */
  input(rx: RxBuffer): boolean;
  /** The deadline passed, or the link closed or broke: the reader is dropped. */
  fail(e: NetIoError): void;
}

/** A large read in progress: bytes go straight into `dest` until it is full. */
interface Direct {
  dest: Uint8Array;
  have: number;
  /** dest's length when the read began: a caller's array detached or resized since is not written. */
  size: number;
}

export class TcpLink {
  readonly rx = new RxBuffer();
  /** Called after input lands in rx (a channel whose messages arrive unasked, e.g. HiSLIP's async one). */
  onInput: (() => void) | null = null;
  /** Called once when the peer closes or the connection breaks. */
  onBroken: ((e: NetIoError) => void) | null = null;
  /** Input beyond this many unread bytes pauses the socket (the kernel then holds the rest). */
  pauseAbove: number;
  #socket: Socket<undefined> | null = null;
  #waiter: Waiter | null = null;
  #drain: Waiter | null = null;
  #reader: FrameReader | null = null;
  #readerDeadline = 0;
  #direct: Direct | null = null;
  #fdReader: FdReader | null = null;
  #nativeRead: FdReader | null = null;
  #paused = false;
  #closedBy: NetIoError | null = null;
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  /** Rejects the connect in progress. */
  #connectClosed: ((e: NetIoError) => void) | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    pauseAbove = 64 << 20,
  ) {
    this.pauseAbove = pauseAbove;
  }

  get where(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get isOpen(): boolean {
    return this.#socket !== null;
  }

  /** The peer's address on the connection. */
  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress;
  }

  /** This end's address on the connection (where the peer can reach this host). */
  get localAddress(): string | undefined {
    return this.#socket?.localAddress;
  }

  async connect(deadline: number): Promise<void> {
    this.close();
    const generation = ++this.#generation;
    // close() while connecting (the instrument being closed with abort) ends the wait at once.
    const closed = new Promise<never>((_, reject) => {
      this.#connectClosed = reject;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Bun.connect<undefined>({
      hostname: this.host,
      port: this.port,
      socket: {
        data: (s, chunk) => this.#onData(s, chunk),
        drain: (s) => {
          if (s === this.#socket) this.#wake("drain");
        },
        close: (s) => this.#onClosed(s, null),
        error: (s, e) => this.#onClosed(s, e),
      },
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(timeoutError(`connect to ${this.where}`)),
        Math.max(0, deadline - performance.now()),
      );
    });
    let socket: Socket<undefined>;
    try {
      socket = await Promise.race([connecting, timedOut, closed]);
    } catch (e) {
      // A connection that completes after the deadline is closed at once.
      void connecting.then(
        (s) => s.terminate(),
        () => undefined,
      );
      if (e instanceof NetIoError) throw e;
      const err = e as Error & { code?: string; errno?: number };
      const kind = err.code === "ETIMEDOUT" ? "timeout" : "connection";
      throw new NetIoError(
        kind,
        `connect to ${this.where}: ${osMessage(err)}`,
        Math.abs(err.errno ?? 111),
        err.code ?? "ECONNREFUSED",
      );
    } finally {
      clearTimeout(timer);
      this.#connectClosed = null;
    }
    if (generation !== this.#generation) {
      socket.terminate();
      throw (
        this.#closedBy ??
        new NetIoError("connection", `connect to ${this.where}: closed while connecting`, ENOTCONN, "ENOTCONN")
      );
    }
    socket.setNoDelay(true); // SCPI exchanges are small request/response pairs: Nagle would add up to 40 ms
    // An idle instrument must not keep the process alive; a pending wait's timer does while it waits.
    socket.unref();
    this.#socket = socket;
    this.#closedBy = null;
    this.#paused = false;
    this.rx.reset();
  }

  /** Drops the connection; a pending wait rejects with `why` (default: "closed"). */
  close(why?: NetIoError): void {
    const s = this.#socket;
    this.#generation++;
    this.#socket = null;
    this.#direct = null;
    // The worker's thread ends with the connection (after the read it cuts short); a later large read on
    // a new connection starts another.
    this.#nativeRead?.interrupt();
    this.#fdReader?.close();
    this.#fdReader = null;
    this.rx.reset();
    const err = why ?? new NetIoError("connection", `connection to ${this.where} closed`, ENOTCONN, "ENOTCONN");
    this.#closedBy = err;
    this.#fail(err);
    const connecting = this.#connectClosed;
    this.#connectClosed = null;
    connecting?.(err);
    // A plain close says goodbye (FIN); an aborted or broken link is reset.
    if (why) s?.terminate();
    else s?.end();
  }

  /** Sends all of `data`: at once (undefined) when the kernel takes it, else a promise for the rest,
   * waiting for the socket to drain. Strings are sent as UTF-8. */
  write(data: Uint8Array | string, deadline: number): Promise<void> | undefined {
    const n = this.#live().write(data);
    if (n < 0) throw this.#broken(`write to ${this.where}`, EPIPE, "EPIPE");
    const bytes =
      typeof data === "string" ? (n === data.length && !nonAscii.test(data) ? null : Buffer.from(data)) : data;
    if (!bytes || n >= bytes.byteLength) return undefined;
    return this.#writeRest(bytes, n, deadline);
  }

  async #writeRest(data: Uint8Array, off: number, deadline: number): Promise<void> {
    while (off < data.byteLength) {
      await this.#wait("drain", deadline, `write to ${this.where}`);
      const n = this.#live().write(data.subarray(off));
      if (n < 0) throw this.#broken(`write to ${this.where}`, EPIPE, "EPIPE");
      off += n;
    }
  }

  /** Resolves when the buffer holds more than `known` bytes (len), or the large read in progress moved. */
  waitData(deadline: number): Promise<void> {
    this.#live();
    if (this.#paused) {
      this.#paused = false;
      this.#socket!.resume();
    }
    return this.#wait("data", deadline, `read from ${this.where}`);
  }

  /** Hands `reader` each input until it takes its message, or fails it at `deadline` (or when the link
   * breaks). It may start the next read from inside `input`. */
  read(reader: FrameReader, deadline: number): void {
    const s = this.#live();
    if (this.#paused) {
      this.#paused = false;
      s.resume();
    }
    if (this.rx.buffered > 0 && reader.input(this.rx)) return;
    if (deadline <= performance.now()) return reader.fail(timeoutError(`read from ${this.where}`));
    this.#reader = reader;
    this.#readerDeadline = deadline;
    this.#arm(deadline);
  }

  /** Reads exactly `dest.byteLength - have` more bytes into `dest`, first from the buffer, then the socket. */
  async readInto(dest: Uint8Array, have: number, deadline: number, own: boolean): Promise<void> {
    const rx = this.rx;
    const take = Math.min(rx.buffered, dest.byteLength - have);
    dest.set(rx.buf.subarray(rx.pos, rx.pos + take), have);
    rx.pos += take;
    have += take;
    if (rx.pos >= rx.len) rx.reset();
    if (have >= dest.byteLength) return;
    if (dest.byteLength - have >= NATIVE_READ_ABOVE && (await this.#readNative(dest, have, deadline, own))) return;
    const direct: Direct = { dest, have, size: dest.byteLength };
    this.#direct = direct;
    try {
      while (direct.have < dest.byteLength) await this.waitData(deadline);
    } finally {
      if (this.#direct === direct) this.#direct = null;
    }
  }

  // The rest of dest from the kernel on a native worker (see #onWorker). False when there is none here.
  async #readNative(dest: Uint8Array, have: number, deadline: number, own: boolean): Promise<boolean> {
    const read = this.#onWorker(deadline, (r, fd, ms) => r.read(fd, dest, have, ms, this.where, own));
    if (!read) return false;
    await read;
    return true;
  }

  /**
   * The next answer, read on a native worker from its first byte, when a block of dest's length is
   * expected (the last one was that long): nothing of it passes through bun. Null when there is no
   * worker here; call it right after writing the query, before the event loop turns.
   */
  readBlockOnWorker(dest: Uint8Array, own: boolean, term: Uint8Array, deadline: number): Promise<WorkerBlock> | null {
    return this.#onWorker(deadline, (r, fd, ms) => r.readBlock(fd, dest, ms, this.where, own, term));
  }

  /** Whether large reads here can go to a native worker (the addon has one, the socket shows its fd). */
  get workerReady(): boolean {
    return fdReaders() !== null && typeof (this.#socket as unknown as { fd?: number } | null)?.fd === "number";
  }

  // Pauses the socket (bun reads nothing from it then) and runs `job` on a native worker, which reads
  // exactly what it needs so what follows stays for bun; resumes after. Null without a worker here.
  #onWorker<T>(deadline: number, job: (r: FdReader, fd: number, ms: number) => Promise<T>): Promise<T> | null {
    const Reader = fdReaders();
    const s = this.#live();
    const fd = (s as unknown as { fd?: number }).fd;
    if (!Reader || typeof fd !== "number" || fd < 0) return null;
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) return Promise.reject(timeoutError(`read from ${this.where}`));
    const reader = (this.#fdReader ??= new Reader());
    const generation = this.#generation;
    s.pause();
    this.#nativeRead = reader;
    return job(reader, fd, left).then(
      (v) => {
        this.#afterWorker(reader, s);
        // Closed while the worker finished: the request ends as any other on a closed link does.
        if (generation !== this.#generation) throw this.#closedBy ?? timeoutError(`read from ${this.where}`);
        return v;
      },
      (e) => {
        this.#afterWorker(reader, s);
        // Closed meanwhile: the reason it was closed for, as any other wait on this link would get.
        if (generation !== this.#generation && this.#closedBy) throw this.#closedBy;
        const f = e as Error & { kind?: NetIoError["kind"]; code?: number; codeName?: string };
        throw new NetIoError(f.kind ?? "connection", f.message, f.code ?? 0, f.codeName ?? "");
      },
    );
  }

  #afterWorker(reader: FdReader, s: Socket<undefined>): void {
    if (this.#nativeRead === reader) this.#nativeRead = null;
    if (s === this.#socket && !this.#paused) s.resume();
  }

  /** Drops the input that reached this process unasked. */
  discardInput(): void {
    this.rx.reset();
    if (this.#paused && this.#socket) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #live(): Socket<undefined> {
    if (this.#socket) return this.#socket;
    throw this.#closedBy ?? new NetIoError("connection", `socket ${this.where} is not connected`, ENOTCONN, "ENOTCONN");
  }

  #onData(s: Socket<undefined>, chunk: Buffer): void {
    if (s !== this.#socket) return;
    const d = this.#direct;
    if (d) {
      if (d.dest.byteLength !== d.size) {
        // The rest of the block has nowhere to go: the connection is out of step, so it ends here.
        const why = "the array to read into was detached or resized during the read";
        return this.close(new NetIoError("argument", why, 22, "EINVAL"));
      }
      const n = Math.min(chunk.byteLength, d.dest.byteLength - d.have);
      d.dest.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n), d.have);
      d.have += n;
      if (n < chunk.byteLength) this.rx.append(chunk.subarray(n));
      // The reader waits for the whole payload: waking it for every chunk would only cost a turn each.
      if (d.have < d.dest.byteLength) return;
    } else {
      this.rx.append(chunk);
      const r = this.#reader;
      if (r) {
        // Cleared first: the reader may start the next read from inside input().
        this.#reader = null;
        if (r.input(this.rx)) {
          if (!this.#reader && !this.#waiter && !this.#drain) this.#timer?.unref();
        } else if (!this.#reader) this.#reader = r;
        this.onInput?.();
        return;
      }
      if (this.rx.buffered > this.pauseAbove && !this.#waiter) {
        this.#paused = true;
        s.pause();
      }
    }
    this.onInput?.();
    this.#wake("data");
  }

  #onClosed(s: Socket<undefined>, e: Error | null): void {
    if (s !== this.#socket) return;
    this.#socket = null;
    this.#direct = null;
    this.rx.reset();
    const err = e
      ? new NetIoError(
          "connection",
          `connection to ${this.where}: ${e.message}`,
          ECONNRESET,
          (e as { code?: string }).code ?? "ECONNRESET",
        )
      : new NetIoError("connection", `connection to ${this.where} closed by the peer`, ECONNRESET, "ECONNRESET");
    this.#closedBy = err;
    this.#fail(err);
    this.onBroken?.(err);
  }

  #broken(what: string, code: number, name: string): NetIoError {
    const err = new NetIoError("connection", `${what}: connection broken`, code, name);
    this.close(err);
    return err;
  }

  // One timer per link, re-armed only when it fires early or must fire sooner: creating and clearing a
  // timer for every answer costs more than the rest of a query's JS work. It holds the process open only
  // while someone waits.
  #wait(kind: "data" | "drain", deadline: number, what: string): Promise<void> {
    if (deadline <= performance.now()) return Promise.reject(timeoutError(what));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, deadline, what };
      if (kind === "data") this.#waiter = w;
      else this.#drain = w;
      this.#arm(deadline);
    });
  }

  #arm(deadline: number): void {
    if (this.#timer && this.#timerAt <= deadline) {
      this.#timer.ref();
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(deadline - performance.now())));
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = performance.now();
    const r = this.#reader;
    if (r) {
      if (this.#readerDeadline <= now) {
        this.#reader = null;
        r.fail(timeoutError(`read from ${this.where}`));
      } else this.#arm(this.#readerDeadline);
    }
    for (const kind of ["data", "drain"] as const) {
      const w = kind === "data" ? this.#waiter : this.#drain;
      if (!w) continue;
      if (w.deadline <= now) {
        if (kind === "data") this.#waiter = null;
        else this.#drain = null;
        w.reject(timeoutError(w.what));
      } else this.#arm(w.deadline);
    }
  };

  #wake(kind: "data" | "drain"): void {
    const w = kind === "data" ? this.#waiter : this.#drain;
    if (!w) return;
    if (kind === "data") this.#waiter = null;
    else this.#drain = null;
    if (!this.#waiter && !this.#drain && !this.#reader) this.#timer?.unref();
    w.resolve();
  }

  #fail(err: NetIoError): void {
    const waiting = [this.#waiter, this.#drain];
    const r = this.#reader;
    this.#waiter = this.#drain = this.#reader = null;
    this.#timer?.unref();
    for (const w of waiting) w?.reject(err);
    r?.fail(err);
  }
}
