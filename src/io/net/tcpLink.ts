// One TCP connection on bun's event loop: received bytes go into an RxBuffer (or straight into the
// destination of a large read), and a caller awaits "more bytes" with a deadline. No thread is involved:
// the answer wakes the JS thread once, where a native session thread would be woken and then wake it.
import type { Socket } from "bun";
import { NetIoError } from "../ioErrors.ts";
import { RxBuffer } from "./rxBuffer.ts";

const ETIMEDOUT = 110, ECONNRESET = 104, ENOTCONN = 107, EPIPE = 32;

interface Waiter {
  resolve: () => void;
  reject: (e: NetIoError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  what: string;
}

/** A large read in progress: bytes go straight into `dest` until it holds `need`. */
interface Direct {
  dest: Uint8Array;
  have: number;
}

export function timeoutError(what: string): NetIoError {
  return new NetIoError("timeout", `${what}: timed out`, ETIMEDOUT, "ETIMEDOUT");
}

export class TcpLink {
  readonly rx = new RxBuffer();
  /** Input beyond this many unread bytes pauses the socket (the kernel then holds the rest). */
  pauseAbove: number;
  #socket: Socket<undefined> | null = null;
  #waiter: Waiter | null = null;
  #drain: Waiter | null = null;
  #direct: Direct | null = null;
  #paused = false;
  #closedBy: NetIoError | null = null;
  #generation = 0;

  constructor(readonly host: string, readonly port: number, pauseAbove = 64 << 20) {
    this.pauseAbove = pauseAbove;
  }

  get where(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get isOpen(): boolean {
    return this.#socket !== null;
  }

  async connect(deadline: number): Promise<void> {
    this.close();
    const generation = ++this.#generation;
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
      timer = setTimeout(() => reject(timeoutError(`connect to ${this.where}`)), Math.max(0, deadline - performance.now()));
    });
    let socket: Socket<undefined>;
    try {
      socket = await Promise.race([connecting, timedOut]);
    } catch (e) {
      // A connection that completes after the deadline is closed at once.
      void connecting.then((s) => s.terminate(), () => undefined);
      if (e instanceof NetIoError) throw e;
      const err = e as Error & { code?: string; errno?: number };
      const kind = err.code === "ETIMEDOUT" ? "timeout" : "connection";
      throw new NetIoError(kind, `connect to ${this.where}: ${err.message}`, Math.abs(err.errno ?? 111), err.code ?? "ECONNREFUSED");
    } finally {
      clearTimeout(timer);
    }
    if (generation !== this.#generation) {
      socket.terminate();
      throw this.#closedBy ?? new NetIoError("connection", `connect to ${this.where}: closed while connecting`, ENOTCONN, "ENOTCONN");
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
    this.rx.reset();
    const err = why ?? new NetIoError("connection", `connection to ${this.where} closed`, ENOTCONN, "ENOTCONN");
    this.#closedBy = err;
    this.#fail(err);
    s?.terminate();
  }

  /** Sends all of `data`, waiting for the socket to drain when the kernel buffer is full. */
  async write(data: Uint8Array, deadline: number): Promise<void> {
    let off = 0;
    for (;;) {
      const s = this.#live();
      const n = s.write(data.subarray(off));
      if (n < 0) throw this.#broken(`write to ${this.where}`, EPIPE, "EPIPE");
      off += n;
      if (off >= data.byteLength) return;
      await this.#wait("drain", deadline, `write to ${this.where}`);
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

  /** Reads exactly `dest.byteLength - have` more bytes into `dest`, first from the buffer, then the socket. */
  async readInto(dest: Uint8Array, have: number, deadline: number): Promise<void> {
    const rx = this.rx;
    const take = Math.min(rx.buffered, dest.byteLength - have);
    dest.set(rx.buf.subarray(rx.pos, rx.pos + take), have);
    rx.pos += take;
    have += take;
    if (rx.pos >= rx.len) rx.reset();
    if (have >= dest.byteLength) return;
    const direct: Direct = { dest, have };
    this.#direct = direct;
    try {
      while (direct.have < dest.byteLength) await this.waitData(deadline);
    } finally {
      if (this.#direct === direct) this.#direct = null;
    }
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
      const n = Math.min(chunk.byteLength, d.dest.byteLength - d.have);
      d.dest.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n), d.have);
      d.have += n;
      if (n < chunk.byteLength) this.rx.append(chunk.subarray(n));
    } else {
      this.rx.append(chunk);
      if (this.rx.buffered > this.pauseAbove && !this.#waiter) {
        this.#paused = true;
        s.pause();
      }
    }
    this.#wake("data");
  }

  #onClosed(s: Socket<undefined>, e: Error | null): void {
    if (s !== this.#socket) return;
    this.#socket = null;
    this.#direct = null;
    this.rx.reset();
    const err = e
      ? new NetIoError("connection", `connection to ${this.where}: ${e.message}`, ECONNRESET, (e as { code?: string }).code ?? "ECONNRESET")
      : new NetIoError("connection", `connection to ${this.where} closed by the peer`, ECONNRESET, "ECONNRESET");
    this.#closedBy = err;
    this.#fail(err);
  }

  #broken(what: string, code: number, name: string): NetIoError {
    const err = new NetIoError("connection", `${what}: connection broken`, code, name);
    this.close(err);
    return err;
  }

  #wait(kind: "data" | "drain", deadline: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined, what };
      const ms = deadline - performance.now();
      if (ms <= 0) return reject(timeoutError(what));
      w.timer = setTimeout(() => {
        if (kind === "data" ? this.#waiter === w : this.#drain === w) {
          if (kind === "data") this.#waiter = null;
          else this.#drain = null;
          reject(timeoutError(what));
        }
      }, ms);
      if (kind === "data") this.#waiter = w;
      else this.#drain = w;
    });
  }

  #wake(kind: "data" | "drain"): void {
    const w = kind === "data" ? this.#waiter : this.#drain;
    if (!w) return;
    if (kind === "data") this.#waiter = null;
    else this.#drain = null;
    clearTimeout(w.timer);
    w.resolve();
  }

  #fail(err: NetIoError): void {
    for (const w of [this.#waiter, this.#drain]) {
      if (!w) continue;
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiter = this.#drain = null;
  }
}
