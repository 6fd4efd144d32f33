// TCPIP::host::hislip0[,port]::INSTR on the event loop — HiSLIP (IVI-6.1): a synchronous channel for
// Data/DataEnd messages (message IDs, the RMT-delivered bit) and an asynchronous one for device clear,
// locks, status and service requests. Works with a server in synchronized or overlapped mode (responses
// are matched to the message they answer by ID either way).
import { NetIoError } from "../ioErrors.ts";
import type { NetTransport } from "./netTransport.ts";
import {
  FIRST_MESSAGE_ID,
  HISLIP_PORT,
  Hs,
  HsProtocolError,
  MAX_PAYLOAD,
  PROTOCOL_VERSION,
  encode,
  take,
  u64,
  type HsMessage,
} from "./hislipMessages.ts";
import { RxBuffer } from "./rxBuffer.ts";
import { timeoutError } from "./linkErrors.ts";
import { TcpLink } from "./tcpLink.ts";

const VENDOR = 0x4c44; // "LD"
const LOCK_FAIL = 0,
  LOCK_OK = 1,
  LOCK_SHARED_RELEASED = 2;

interface AsyncWait {
  type: number;
  resolve: (m: HsMessage) => void;
  reject: (e: NetIoError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class HislipTransport implements NetTransport {
  readonly interfaceType = "HISLIP";
  readonly marksEnd = true;
  readonly rx = new RxBuffer();
  readonly #sync: TcpLink;
  readonly #async: TcpLink;
  readonly #subAddress: string;
  #open = false;
  #messageId = FIRST_MESSAGE_ID;
  /** The ID of the last message sent: its answer carries it. */
  #lastSent = FIRST_MESSAGE_ID - 2;
  #rmtDelivered = false;
  #serverMax = 1 << 20;
  #overlapped = false;
  #asyncWait: AsyncWait | null = null;
  #onSrq: ((statusByte: number) => void) | null = null;

  constructor(host: string, subAddress: string, port = HISLIP_PORT) {
    this.#sync = new TcpLink(host, port);
    this.#async = new TcpLink(host, port);
    this.#subAddress = subAddress;
    this.#async.onInput = () => this.#onAsyncInput();
    this.#async.onBroken = (e) => this.#failAsync(e);
  }

  /** Parses `TCPIP::host::hislip0[,port]::INSTR`'s LAN device name. */
  static parse(lanDeviceName: string): { subAddress: string; port: number } | null {
    const m = /^(hislip\d*)(?:,(\d+))?$/i.exec(lanDeviceName);
    if (!m) return null;
    const port = m[2] === undefined ? HISLIP_PORT : Number(m[2]);
    return port >= 1 && port <= 65535 ? { subAddress: m[1]!, port } : null;
  }

  get isOpen(): boolean {
    return this.#open && this.#sync.isOpen && this.#async.isOpen;
  }

  /** Whether the server works in overlapped mode (else synchronized). */
  get overlapped(): boolean {
    return this.#overlapped;
  }

  async open(d: number): Promise<void> {
    this.close();
    this.rx.reset();
    await this.#sync.connect(d);
    const where = `HiSLIP ${this.#sync.where}/${this.#subAddress}`;
    this.#sync.write(
      encode(Hs.Initialize, 0, ((PROTOCOL_VERSION << 16) | VENDOR) >>> 0, Buffer.from(this.#subAddress, "latin1")),
      d,
    );
    const init = await this.#readSync(d, true);
    if (init.type !== Hs.InitializeResponse)
      throw new NetIoError("connection", `${where}: Initialize answered with message type ${init.type}`, 71, "EPROTO");
    this.#overlapped = (init.control & 1) !== 0;
    const sessionId = init.param & 0xffff;
    await this.#async.connect(d);
    const ai = await this.#asyncRequest(encode(Hs.AsyncInitialize, 0, sessionId), Hs.AsyncInitializeResponse, d);
    void ai;
    const mm = await this.#asyncRequest(
      encode(Hs.AsyncMaximumMessageSize, 0, 0, u64(MAX_PAYLOAD)),
      Hs.AsyncMaximumMessageSizeResponse,
      d,
    );
    if (mm.payload.byteLength === 8) this.#serverMax = Number(mm.payload.readBigUInt64BE(0));
    this.#messageId = FIRST_MESSAGE_ID;
    this.#lastSent = FIRST_MESSAGE_ID - 2;
    this.#rmtDelivered = false;
    this.#open = true;
  }

  close(): void {
    this.#open = false;
    this.#sync.close();
    this.#async.close();
  }

  // Both channels: a request may be waiting on either (a lock, a device clear on the async one).
  abort(): void {
    const why = new NetIoError(
      "connection",
      `HiSLIP connection to ${this.#sync.where} closed while waiting for it`,
      107,
      "ENOTCONN",
    );
    this.#sync.close(why);
    this.#async.close(why);
    this.#failAsync(why);
  }

  // One message as Data … DataEnd, each payload within the server's maximum; one message ID for all.
  write(message: Uint8Array | string, d: number): Promise<void> | void {
    const data = typeof message === "string" ? Buffer.from(message) : message;
    const id = this.#messageId;
    // Readings of the negotiated maximum differ on whether it counts the 16-byte header: fit both.
    const max = Math.max(1, Math.min(this.#serverMax - 16, MAX_PAYLOAD));
    const parts: Buffer[] = [];
    for (let off = 0; off < data.byteLength || parts.length === 0; off += max) {
      const end = off + max >= data.byteLength;
      const rmt = parts.length === 0 && this.#rmtDelivered ? 1 : 0;
      parts.push(encode(end ? Hs.DataEnd : Hs.Data, rmt, id, data.subarray(off, Math.min(off + max, data.byteLength))));
      if (end) break;
    }
    this.#rmtDelivered = false;
    this.#lastSent = id;
    this.#messageId = (id + 2) >>> 0;
    return this.#sync.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts), d);
  }

  // Reads sync-channel messages until one adds data (or END) to rx. Answers to earlier messages (left by
  // a timeout or a clear) carry an older ID and are dropped.
  async fill(d: number): Promise<void> {
    for (;;) {
      const m = await this.#readSync(d, false);
      if (m.type === Hs.Data || m.type === Hs.DataEnd) {
        if (m.param !== this.#lastSent && m.param !== 0xffffffff) continue;
        const end = m.type === Hs.DataEnd;
        if (end) this.#rmtDelivered = true;
        if (m.payload.byteLength === 0 && !end) continue;
        this.rx.append(m.payload, end);
        return;
      }
      if (m.type === Hs.Interrupted) continue; // a message of ours was cut short by a newer one
      this.#unexpected(m);
    }
  }

  async readInto(dest: Uint8Array, have: number, d: number): Promise<boolean> {
    let end = false;
    while (have < dest.byteLength) {
      if (this.rx.buffered === 0) await this.fill(d);
      const rx = this.rx;
      const n = Math.min(rx.buffered, dest.byteLength - have);
      dest.set(rx.buf.subarray(rx.pos, rx.pos + n), have);
      have += n;
      end = rx.endAt >= 0 && rx.pos + n >= rx.endAt;
      rx.pos += n;
      if (end) rx.endAt = -1;
      if (rx.pos >= rx.len) rx.reset();
    }
    return end;
  }

  // AsyncDeviceClear on the async channel; once acknowledged, DeviceClearComplete on the sync channel,
  // whose DeviceClearAcknowledge ends it. What the sync channel held before is dropped; IDs start over.
  async clear(d: number): Promise<void> {
    if (!this.isOpen) return;
    const ack = await this.#asyncRequest(encode(Hs.AsyncDeviceClear, 0, 0), Hs.AsyncDeviceClearAcknowledge, d);
    this.#sync.write(encode(Hs.DeviceClearComplete, ack.control & 1, 0), d);
    for (;;) {
      const m = await this.#readSync(d, false);
      if (m.type === Hs.DeviceClearAcknowledge) {
        this.#overlapped = (m.control & 1) !== 0;
        break;
      }
      if (m.type === Hs.Data || m.type === Hs.DataEnd || m.type === Hs.Interrupted) continue;
      this.#unexpected(m);
    }
    this.rx.reset();
    this.#messageId = FIRST_MESSAGE_ID;
    this.#lastSent = FIRST_MESSAGE_ID - 2;
    this.#rmtDelivered = false;
  }

  discardInput(): void {
    // Answers carry the ID of their message: one to an earlier message is dropped when it arrives.
  }

  /** An exclusive lock (`shared` empty) or a shared one named `shared`, waiting up to `timeoutMs`. */
  async lock(d: number, timeoutMs: number, shared = ""): Promise<void> {
    const r = await this.#asyncRequest(
      encode(Hs.AsyncLock, 1, Math.max(0, Math.floor(timeoutMs)), Buffer.from(shared, "latin1")),
      Hs.AsyncLockResponse,
      d + 1000,
    );
    if (r.control === LOCK_OK) return;
    const where = `HiSLIP AsyncLock on ${this.#sync.where}/${this.#subAddress}`;
    if (r.control === LOCK_FAIL)
      throw new NetIoError("timeout", `${where}: still locked by another client`, 0, "HISLIP_LOCKED");
    throw new NetIoError("device", `${where}: the lock request was refused (error)`, r.control, "HISLIP_LOCK_ERROR");
  }

  async unlock(d: number): Promise<void> {
    const r = await this.#asyncRequest(encode(Hs.AsyncLock, 0, this.#lastSent), Hs.AsyncLockResponse, d);
    if (r.control === LOCK_OK || r.control === LOCK_SHARED_RELEASED) return;
    throw new NetIoError(
      "device",
      `HiSLIP AsyncLock release on ${this.#sync.where}/${this.#subAddress}: no lock held`,
      r.control,
      "HISLIP_LOCK_ERROR",
    );
  }

  async remoteLocal(d: number, code: number): Promise<void> {
    const r = await this.#asyncRequest(
      encode(Hs.AsyncRemoteLocalControl, code, this.#lastSent),
      Hs.AsyncRemoteLocalResponse,
      d,
    );
    void r;
  }

  async enableSrq(_d: number, onSrq: (statusByte: number) => void): Promise<void> {
    // The server sends AsyncServiceRequest, the status byte in its control code, on the async channel
    // whenever it requests service.
    this.#onSrq = onSrq;
  }

  dispose(): void {
    this.#onSrq = null;
  }

  /** The status byte (AsyncStatusQuery); reading it clears the instrument's RQS, as a serial poll does. */
  async statusByte(d: number): Promise<number> {
    const r = await this.#asyncRequest(
      encode(Hs.AsyncStatusQuery, this.#rmtDelivered ? 1 : 0, this.#lastSent),
      Hs.AsyncStatusResponse,
      d,
    );
    return r.control;
  }

  async #readSync(d: number, opening: boolean): Promise<HsMessage> {
    const rx = this.#sync.rx;
    for (;;) {
      let m: HsMessage | null;
      try {
        m = take(rx);
      } catch (e) {
        if (!(e instanceof HsProtocolError)) throw e;
        this.close();
        throw new NetIoError("connection", `HiSLIP ${this.#sync.where}: ${e.message}`, 71, "EPROTO");
      }
      if (m) {
        if (m.type === Hs.FatalError) {
          this.close();
          throw new NetIoError(
            "connection",
            `HiSLIP fatal error ${m.control} from ${this.#sync.where}: ${m.payload.toString("latin1")}`,
            m.control,
            "HISLIP_FATAL",
          );
        }
        if (m.type === Hs.Error && !opening) {
          throw new NetIoError(
            "device",
            `HiSLIP error ${m.control} from ${this.#sync.where}: ${m.payload.toString("latin1")}`,
            m.control,
            "HISLIP_ERROR",
          );
        }
        return m;
      }
      await this.#sync.waitData(d);
    }
  }

  #unexpected(m: HsMessage): never {
    throw new NetIoError(
      "device",
      `HiSLIP: unexpected message type ${m.type} on the synchronous channel`,
      m.type,
      "EPROTO",
    );
  }

  // One request at a time on the async channel (the session runs requests in order).
  #asyncRequest(msg: Buffer, answer: number, d: number): Promise<HsMessage> {
    return new Promise<HsMessage>((resolve, reject) => {
      const ms = d - performance.now();
      if (ms <= 0) return reject(timeoutError(`HiSLIP async request to ${this.#async.where}`));
      const timer = setTimeout(() => {
        if (this.#asyncWait?.timer !== timer) return;
        this.#asyncWait = null;
        // Its late answer would be taken by the next request of its type: the next request starts a new
        // session instead (a lock held by this one is gone with it).
        this.#async.close();
        this.#open = false;
        reject(timeoutError(`HiSLIP async request to ${this.#async.where}`));
      }, ms);
      this.#asyncWait = { type: answer, resolve, reject, timer };
      try {
        this.#async.write(msg, d);
      } catch (e) {
        clearTimeout(timer);
        this.#asyncWait = null;
        reject(e as NetIoError);
      }
    });
  }

  #onAsyncInput(): void {
    for (;;) {
      let m: HsMessage | null;
      try {
        m = take(this.#async.rx);
      } catch (e) {
        this.#async.close();
        this.#failAsync(new NetIoError("connection", `HiSLIP async channel: ${(e as Error).message}`, 71, "EPROTO"));
        return;
      }
      if (!m) return;
      if (m.type === Hs.AsyncServiceRequest) {
        try {
          this.#onSrq?.(m.control);
        } catch (e) {
          console.error(`labdaemon: a service request handler of HiSLIP ${this.#async.where} threw:`, e);
        }
        continue;
      }
      const w = this.#asyncWait;
      if (w && (m.type === w.type || m.type === Hs.Error || m.type === Hs.FatalError)) {
        this.#asyncWait = null;
        clearTimeout(w.timer);
        if (m.type === w.type) w.resolve(m);
        else {
          // After a FatalError the server closes the connection: the next request reconnects.
          const fatal = m.type === Hs.FatalError;
          if (fatal) this.close();
          w.reject(
            new NetIoError(
              fatal ? "connection" : "device",
              `HiSLIP ${fatal ? "fatal error" : "error"} ${m.control} on the async channel: ${m.payload.toString("latin1")}`,
              m.control,
              "HISLIP_ERROR",
            ),
          );
        }
      }
    }
  }

  #failAsync(e: NetIoError): void {
    this.#open = false;
    const w = this.#asyncWait;
    this.#asyncWait = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}
