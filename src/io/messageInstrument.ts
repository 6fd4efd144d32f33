// A message-based instrument (pyvisa's MessageBasedResource): strings in, strings out, over whatever
// transport the resource string names. Every call is a promise settled in the order the calls were made,
// even from concurrent callers: by the event loop's session for LAN instruments (src/io/net), by the
// resource's own native I/O thread for the others.
import { DeviceConfigurationError, DeviceNotConnectedError, DeviceOperationError } from "../core/errors.ts";
import { Acquisition, type AcquisitionOptions } from "./acquisition.ts";
import {
  type BlockArray,
  type BlockDatatype,
  type BlockFormat,
  blockCtor,
  blockElementSize,
  decodeBlock,
  intoBytes,
} from "./binaryBlock.ts";
import "./ioErrors.ts";
import { ServiceRequests } from "./serviceRequests.ts";
import type {
  HandOverSession,
  LeasingInstrument,
  NativeLease,
  NativeSession,
  ServiceRequestHandler,
} from "./session.ts";

export type Encoding = "utf-8" | "latin1" | "ascii";

export interface SerialOptions {
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 2;
  parity?: "none" | "even" | "odd";
  flowControl?: "none" | "rtscts" | "xonxoff";
}

export interface InstrumentOptions extends SerialOptions {
  /** Per request, from the moment it reaches the I/O thread. Default 2000 ms. Above 0 and at most 24 h
   * (86,400,000): a call made with anything else (NaN, Infinity, -5, 1e13) rejects with a RangeError.
   * A read that times out gives up the rest of its message: what came of it is dropped, and the
   * interface is cleared (device clear; sockets and serial drop pending input) before the next request. */
  timeoutMs?: number;
  /** Default "\n". `null` or "" disables it: reads then end at the interface's END or the first data. */
  readTermination?: string | null;
  /** Appended to every `write`/`query` (not to `writeBytes`). Default "\n". */
  writeTermination?: string | null;
  encoding?: Encoding;
  /** Refuse answers longer than this (bytes). Default 64 MiB. */
  maxReadBytes?: number;
  /** VXI-11, GPIB and VISA: the interface ends a read at this byte (default: the last byte of readTermination). */
  termChar?: number | null;
  /** Route this resource through a vendor VISA library (path or soname). */
  visaLibrary?: string;
}

const REMOTE_LOCAL = ["local", "remote", "gtl", "remote-address", "llo", "remote-address-llo", "address-gtl"] as const;
export type RemoteLocal = (typeof REMOTE_LOCAL)[number];

const ENC_BYTES = 0;
const nonAscii = /[^\x00-\x7f]/;

export class MessageInstrument implements LeasingInstrument {
  /** The resource string as given to `open`. */
  readonly resource: string;
  timeoutMs: number;
  readTermination: string;
  writeTermination: string;
  readonly encoding: Encoding;
  maxReadBytes: number;
  #session: NativeSession | null;
  #enc: number;
  #onClose: (() => void) | undefined;
  /** Requests made and not yet settled: what close({ abort }) would interrupt. */
  #inFlight = 0;
  readonly #settled = (): void => {
    this.#inFlight--;
  };
  /** For an event-loop session: makes the native session a native acquisition runs on; null where the
   * addon has no transport for the resource (HiSLIP). Undefined for native sessions. */
  #makeNative: (() => NativeSession) | null | undefined;
  /** While native acquisitions run on an event-loop instrument, every call goes through their session. */
  #native: NativeSession | null = null;
  #leases = 0;
  readonly #srq: ServiceRequests;

  /** Use `ResourceManager.open()`. */
  constructor(
    resource: string,
    session: NativeSession,
    options: InstrumentOptions,
    onClose?: () => void,
    makeNative?: (() => NativeSession) | null,
  ) {
    this.resource = resource;
    this.#session = session;
    this.#makeNative = makeNative;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.readTermination = options.readTermination ?? (options.readTermination === null ? "" : "\n");
    this.writeTermination = options.writeTermination ?? (options.writeTermination === null ? "" : "\n");
    this.encoding = options.encoding ?? "utf-8";
    this.maxReadBytes = options.maxReadBytes ?? 64 * 1024 * 1024;
    this.#enc = this.encoding === "utf-8" ? 1 : 2;
    this.#onClose = onClose;
    this.#srq = new ServiceRequests(
      resource,
      () => this.#session,
      () => this.timeoutMs,
    );
  }

  /** The normalised resource name, e.g. `TCPIP0::127.0.0.1::5025::SOCKET`. */
  get canonicalResource(): string {
    return this.#live().resource;
  }

  get isOpen(): boolean {
    return this.#session !== null;
  }

  /** Sends `message` + writeTermination; resolves with the bytes written. */
  write(message: string): Promise<number> {
    return this.#call((s) => s.write(this.#encode(message + this.writeTermination), this.timeoutMs));
  }

  writeBytes(data: Uint8Array): Promise<number> {
    return this.#call((s) => s.write(data, this.timeoutMs));
  }

  /** One message, without its readTermination. */
  read(): Promise<string> {
    return this.#call((s) =>
      s.read(this.readTermination, this.maxReadBytes, this.timeoutMs, this.#enc),
    ) as Promise<string>;
  }

  /** Exactly `count` bytes, whatever they contain. */
  readBytes(count: number): Promise<Uint8Array> {
    // The native side sizes its buffer from `count` before any byte arrives.
    if (!Number.isInteger(count) || count < 0 || count > this.maxReadBytes) {
      return Promise.reject(
        new RangeError(
          `${this.resource}: readBytes count must be a whole number within 0–${this.maxReadBytes} (maxReadBytes), got ${count}`,
        ),
      );
    }
    return this.#call((s) => s.readBytes(count, this.timeoutMs, ENC_BYTES)) as Promise<Uint8Array>;
  }

  /** Reads until `term` (kept out of the result) regardless of readTermination; bytes. */
  readRaw(term = this.readTermination): Promise<Uint8Array> {
    return this.#call((s) => s.read(term, this.maxReadBytes, this.timeoutMs, ENC_BYTES)) as Promise<Uint8Array>;
  }

  /** write + read as one request on the I/O thread (nothing can come between them). Input that came
   * before the command (an answer nobody read) is dropped first, so the answer is this command's. */
  query(message: string): Promise<string> {
    return this.#call((s) =>
      s.query(
        this.#encode(message + this.writeTermination),
        this.readTermination,
        this.maxReadBytes,
        this.timeoutMs,
        this.#enc,
      ),
    ) as Promise<string>;
  }

  /** A comma-separated (or `separator`) numeric answer. */
  async queryAscii(message: string, separator = ","): Promise<number[]> {
    const text = (await this.query(message)).trim();
    return text === "" ? [] : text.split(separator).map(Number);
  }

  /** Sends `message`, reads an IEEE 488.2 block (`#<n><len><data>` or `#0<data>`) and decodes its data
   * (into `format.into` when given and the block fits). */
  async queryBinaryBlock<T extends BlockDatatype = "float32">(
    message: string,
    format: BlockFormat & { datatype?: T } = {},
  ): Promise<BlockArray<T>> {
    const into = this.#blockInto(format); // a bad format is refused before anything is sent
    return this.#decodeBlock(await this.queryBlockBytes(message, into), format);
  }

  /** The raw data bytes of a block answer (a view of `into` when it was read there). */
  queryBlockBytes(message: string, into?: Uint8Array): Promise<Uint8Array> {
    return this.#call((s) =>
      s.queryBlock(
        this.#encode(message + this.writeTermination),
        this.readTermination,
        this.maxReadBytes,
        this.timeoutMs,
        into,
      ),
    );
  }

  async readBinaryBlock<T extends BlockDatatype = "float32">(
    format: BlockFormat & { datatype?: T } = {},
  ): Promise<BlockArray<T>> {
    const into = this.#blockInto(format);
    const bytes = await this.#call((s) =>
      s.queryBlock(null, this.readTermination, this.maxReadBytes, this.timeoutMs, into),
    );
    return this.#decodeBlock(bytes, format);
  }

  // `into`'s bytes, once the datatype is known to be one (DeviceConfigurationError otherwise).
  #blockInto(format: BlockFormat): Uint8Array | undefined {
    try {
      blockCtor(format.datatype ?? "float32");
    } catch (e) {
      throw new DeviceConfigurationError(`${this.resource}: ${(e as Error).message}`, { resource: this.resource });
    }
    return format.into ? intoBytes(format.into, blockElementSize(format.datatype)) : undefined;
  }

  // A block whose length is not a whole number of values is the instrument's answer at fault.
  #decodeBlock<T extends BlockDatatype>(bytes: Uint8Array, format: BlockFormat & { datatype?: T }): BlockArray<T> {
    if ((bytes.buffer as ArrayBuffer).detached || (format.into?.buffer as ArrayBuffer | undefined)?.detached) {
      throw new DeviceConfigurationError(
        `${this.resource}: the array to read into was detached or resized during the read`,
        { resource: this.resource },
      );
    }
    try {
      return decodeBlock(bytes, format, true);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new DeviceOperationError(`${this.resource}: ${e.message}`, { resource: this.resource });
    }
  }

  /** Device clear (VXI-11 device_clear, GPIB SDC); sockets and serial ports drop unread input. */
  clear(): Promise<void> {
    return this.#call((s) => s.clear(this.timeoutMs));
  }

  /** Exclusive access among the instrument's clients (VXI-11 device_lock, HiSLIP AsyncLock), waiting up to
   * `timeoutMs`. HiSLIP also has shared locks: clients locking with the same `sharedKey` share it, and
   * exclude clients without it. */
  lock(timeoutMs = this.timeoutMs, sharedKey?: string): Promise<void> {
    if (sharedKey !== undefined) {
      return this.#call((s) => {
        const lock = (s as Partial<HandOverSession>).lockShared;
        if (!lock)
          return Promise.reject(
            new DeviceConfigurationError(`${this.resource}: shared locks are a HiSLIP feature`, {
              resource: this.resource,
            }),
          );
        return lock.call(s, timeoutMs, sharedKey);
      });
    }
    return this.#call((s) => s.lock(timeoutMs));
  }

  /** Remote/local state (pyvisa's control_ren; HiSLIP AsyncRemoteLocalControl): "local" (REN off),
   * "remote" (REN on), "gtl", "remote-address", "llo", "remote-address-llo", "address-gtl". */
  remoteLocal(mode: RemoteLocal): Promise<void> {
    const code = REMOTE_LOCAL.indexOf(mode);
    if (code < 0)
      return Promise.reject(
        new RangeError(`remoteLocal mode must be one of ${REMOTE_LOCAL.join(", ")}, got ${String(mode)}`),
      );
    return this.#call((s) => {
      const rl = (s as Partial<HandOverSession>).remoteLocal;
      if (!rl)
        return Promise.reject(
          new DeviceConfigurationError(`${this.resource}: remote/local control is a HiSLIP feature here`, {
            resource: this.resource,
          }),
        );
      return rl.call(s, code, this.timeoutMs);
    });
  }

  unlock(): Promise<void> {
    return this.#call((s) => s.unlock(this.timeoutMs));
  }

  /**
   * Calls `handler` with the status byte whenever the instrument requests service (HiSLIP: its
   * asynchronous channel's AsyncServiceRequest; VXI-11: its interrupt channel, then device_readstb; GPIB:
   * RQS polled through linux-gpib, then a serial poll). Resolves, once the instrument has been told to send
   * them, with a function that removes the handler. Raw sockets, serial ports, USBTMC and vendor VISA
   * resources have none here: DeviceConfigurationError.
   */
  onServiceRequest(handler: ServiceRequestHandler): Promise<() => void> {
    return this.#srq.add(handler);
  }

  /** Resolves with the status byte at the next service request (requests made after this call see it armed), or rejects
   * with DeviceTimeoutError after `timeoutMs` (default: the instrument's). */
  waitForServiceRequest(options: { timeoutMs?: number } = {}): Promise<number | null> {
    return this.#srq.wait(options.timeoutMs ?? this.timeoutMs);
  }

  /**
   * Waits for requests already made, then closes. Idempotent. With `abort`, a request still in progress
   * (a read waiting for an answer that may never come) has its I/O interrupted and fails at once; a
   * session with nothing in progress closes as gracefully as without it.
   */
  async close(opts: { abort?: boolean } = {}): Promise<void> {
    const s = this.#session;
    if (!s) return;
    this.#session = null;
    this.#onClose?.();
    // An event-loop session aborts only a request it has in progress (it tracks them itself).
    const abort = opts.abort === true && (this.#inFlight > 0 || (this.#makeNative !== undefined && !this.#native));
    const n = this.#native;
    this.#native = null;
    await Promise.all([s.close(abort).catch(() => undefined), n?.close(abort).catch(() => undefined)]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Starts a native loop that repeats `options.command` and pushes the decoded samples into `options.ring`. */
  startAcquisition(options: AcquisitionOptions): Acquisition {
    return new Acquisition(this, options);
  }

  /**
   * For the acquisition loop, which runs on a native I/O thread. An event-loop (LAN) instrument hands its
   * connection over: its own closes after the requests already made, a native session connects in its
   * place, and every call made while an acquisition runs goes through that session, between the
   * exchanges, in order. When the last acquisition ends the native session closes and the next call
   * reconnects on the event loop. `release()` once per lease.
   */
  leaseNativeSession(): NativeLease {
    const s = this.#live();
    if (this.#makeNative === null) {
      throw new DeviceConfigurationError(
        `${this.resource}: native acquisition has no HiSLIP transport; repeat queryBinaryBlock instead`,
        { resource: this.resource },
      );
    }
    if (!this.#makeNative) return { session: s, release: () => undefined };
    if (!this.#native) {
      this.#native = this.#makeNative();
      void (s as HandOverSession).disconnect().catch(() => undefined);
    }
    this.#leases++;
    let released = false;
    return {
      session: this.#native,
      release: () => {
        if (released) return;
        released = true;
        if (--this.#leases > 0 || !this.#native) return;
        const n = this.#native;
        this.#native = null;
        // Calls made from now on go to the event-loop session, after the native one has finished.
        if (this.#session) void (this.#session as HandOverSession).after(() => n.close());
        else void n.close().catch(() => undefined);
      },
    };
  }

  #live(): NativeSession {
    if (!this.#session) throw new DeviceNotConnectedError(`${this.resource} is closed`, { resource: this.resource });
    return this.#native ?? this.#session;
  }

  // The addon and the event-loop sessions reject with DeviceError subclasses already.
  #call<T>(fn: (s: NativeSession) => Promise<T>): Promise<T> {
    const s = this.#session;
    if (!s)
      return Promise.reject(new DeviceNotConnectedError(`${this.resource} is closed`, { resource: this.resource }));
    try {
      // An event-loop session knows what it has in progress itself (close({ abort }) asks it): only a
      // native one is counted here, which spares every LAN request a promise reaction.
      if (this.#makeNative !== undefined && !this.#native) return fn(s);
      this.#inFlight++;
      const p = fn(this.#native ?? s);
      p.then(this.#settled, this.#settled);
      return p;
    } catch (e) {
      if (this.#makeNative === undefined || this.#native) this.#inFlight--;
      // The addon checks argument types synchronously; a promise-returning method still rejects.
      return Promise.reject(e);
    }
  }

  #encode(text: string): string | Uint8Array {
    // The addon sends strings as UTF-8; other encodings need their own bytes.
    if (this.#enc === 1 || !nonAscii.test(text)) return text;
    return Buffer.from(text, "latin1");
  }
}

// `format.into` as bytes, checked before anything is sent.
