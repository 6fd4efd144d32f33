// A simulated instrument over HiSLIP (IVI-6.1): TCPIP::127.0.0.1::hislip0,<port>::INSTR. Synchronized
// mode (or overlapped, as an option: answers are the same, each with its message's ID); sessions (a sync and an async connection each), Data/DataEnd answered with the message's ID,
// device clear, exclusive and shared locks with a timeout across sessions, status queries and service
// requests (AsyncServiceRequest when the instrument raises one).
import type { Socket, TCPSocketListener } from "bun";
import type { SimulatedInstrument } from "./instrument.ts";
import { splitMessages } from "./messages.ts";
import { Hs, MAX_PAYLOAD, PROTOCOL_VERSION, encode, take, u64 } from "../../../src/io/net/hislipMessages.ts";
import { RxBuffer } from "../../../src/io/net/rxBuffer.ts";

const VENDOR = 0x5349; // "SI"
const SERVER_MAX = 1 << 20; // the default maximum message size (payload bytes) this server accepts
/** Unanswered input a connection may hold before it is dropped (a client not speaking HiSLIP). */
const MAX_PENDING = MAX_PAYLOAD + 16;
/** Data a session may send before its DataEnd: the client's own bound on one message (a 64 MiB block). */
export const MAX_INBOUND_BYTES = MAX_PAYLOAD;

interface Session {
  id: number;
  sync: Socket<Conn>;
  async: Socket<Conn> | null;
  inbound: Buffer[];
  /** Bytes in `inbound`. */
  inboundBytes: number;
  clientMax: number;
  lockTimers: Set<ReturnType<typeof setTimeout>>;
}

interface Conn {
  rx: RxBuffer;
  session: Session | null;
}

export class HislipSimServer {
  readonly port: number;
  readonly #listener: TCPSocketListener<Conn>;
  readonly #sessions = new Map<number, Session>();
  readonly #offSrq: () => void;
  #nextId = 1;
  /** Session ids are 1..#lastId (16 bits; fewer only to test the wrap without 65,535 connections). */
  readonly #lastId: number;
  #exclusive: Session | null = null;
  readonly #shared = new Map<Session, string>();
  readonly #lockWaiters: (() => void)[] = [];
  readonly #maxMessage: number;
  readonly #host: string;
  readonly #overlap: number;
  /** The last AsyncRemoteLocalControl code received (tests read it). */
  remoteLocal = -1;

  constructor(
    readonly instrument: SimulatedInstrument,
    readonly subAddress = "hislip0",
    options: {
      host?: string;
      port?: number;
      maxMessageSize?: number;
      overlapped?: boolean;
      lastSessionId?: number;
    } = {},
  ) {
    this.#maxMessage = options.maxMessageSize ?? SERVER_MAX;
    this.#lastId = Math.min(0xffff, Math.max(1, options.lastSessionId ?? 0xffff));
    this.#host = options.host ?? "127.0.0.1";
    this.#overlap = options.overlapped ? 1 : 0;
    this.#listener = Bun.listen<Conn>({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      socket: {
        open: (s) => {
          s.data = { rx: new RxBuffer(), session: null };
          s.setNoDelay?.(true);
        },
        data: (s, chunk) => this.#onData(s, chunk),
        close: (s) => this.#onClose(s),
        error: (s) => this.#onClose(s),
      },
    });
    this.port = this.#listener.port;
    this.#offSrq = instrument.onServiceRequest(() => {
      const stb = instrument.readStatusByte();
      for (const session of this.#sessions.values()) session.async?.write(encode(Hs.AsyncServiceRequest, stb, 0));
    });
  }

  get resource(): string {
    return `TCPIP0::${this.#host}::${this.subAddress},${this.port}::INSTR`;
  }

  close(): void {
    this.#offSrq();
    for (const s of this.#sessions.values()) for (const t of s.lockTimers) clearTimeout(t);
    this.#listener.stop(true);
  }

  #onData(s: Socket<Conn>, chunk: Buffer): void {
    const c = s.data;
    c.rx.append(Buffer.from(chunk));
    if (c.rx.buffered > MAX_PENDING) return void s.end();
    for (;;) {
      const announced = payloadLength(c.rx);
      // Refused at its header, before its payload is buffered. Error 4 (message too large) would leave the
      // connection open and oblige the server to read the payload and discard it: this one is fatal.
      if (announced > this.#maxMessage)
        return this.#fatal(s, 1, `message too large: ${announced} bytes of payload, at most ${this.#maxMessage}`);
      let m;
      try {
        m = take(c.rx);
      } catch (e) {
        return this.#fatal(s, 1, (e as Error).message);
      }
      if (!m) return;
      this.#handle(s, m.type, m.control, m.param, m.payload);
    }
  }

  /** The next session id no open session holds (16 bits: the count wraps, past 0); null when all are held. */
  #newSessionId(): number | null {
    for (let tries = 0; tries < this.#lastId; tries++) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId % this.#lastId) + 1;
      if (!this.#sessions.has(id)) return id;
    }
    return null;
  }

  /** FatalError (1: poorly formed message header, 3: invalid initialization sequence, 4: maximum number of clients
   * exceeded) and the connection closed. */
  #fatal(s: Socket<Conn>, code: number, why: string): void {
    s.write(encode(Hs.FatalError, code, 0, Buffer.from(why)));
    s.data.rx.reset();
    s.end();
  }

  #onClose(s: Socket<Conn>): void {
    const session = s.data?.session;
    if (!session) return;
    s.data.session = null;
    if (session.sync === s) session.async?.end();
    else session.sync.end();
    if (!this.#sessions.delete(session.id)) return;
    for (const t of session.lockTimers) clearTimeout(t);
    this.#release(session);
  }

  #handle(s: Socket<Conn>, type: number, control: number, param: number, payload: Buffer): void {
    const session = s.data.session;
    switch (type) {
      case Hs.Initialize: {
        if (payload.toString("latin1") !== this.subAddress) {
          return this.#fatal(s, 3, `no sub-address '${payload.toString("latin1")}'`);
        }
        const id = this.#newSessionId();
        if (id === null)
          return this.#fatal(s, 4, `the server has no session id left: ${this.#lastId} sessions are open`);
        const created: Session = {
          id,
          sync: s,
          async: null,
          inbound: [],
          inboundBytes: 0,
          clientMax: MAX_PAYLOAD,
          lockTimers: new Set(),
        };
        this.#sessions.set(id, created);
        s.data.session = created;
        s.write(encode(Hs.InitializeResponse, this.#overlap, ((PROTOCOL_VERSION << 16) | id) >>> 0));
        return;
      }
      case Hs.AsyncInitialize: {
        const target = this.#sessions.get(param & 0xffff);
        if (!target || target.async) {
          return this.#fatal(s, 3, "unknown session");
        }
        target.async = s;
        s.data.session = target;
        s.write(encode(Hs.AsyncInitializeResponse, 0, VENDOR));
        return;
      }
    }
    if (!session) {
      return this.#fatal(s, 3, "not initialized");
    }
    switch (type) {
      case Hs.AsyncMaximumMessageSize:
        if (payload.byteLength === 8) session.clientMax = Number(payload.readBigUInt64BE(0));
        s.write(encode(Hs.AsyncMaximumMessageSizeResponse, 0, 0, u64(this.#maxMessage)));
        return;
      case Hs.Data:
      case Hs.DataEnd:
        session.inboundBytes += payload.byteLength;
        if (session.inboundBytes > MAX_INBOUND_BYTES) {
          session.inbound = [];
          session.inboundBytes = 0;
          return this.#fatal(s, 1, `message too large: more than ${MAX_INBOUND_BYTES} bytes before its DataEnd`);
        }
        session.inbound.push(payload);
        if (type === Hs.DataEnd) this.#message(session, param);
        return;
      case Hs.AsyncDeviceClear:
        session.inbound = [];
        session.inboundBytes = 0;
        s.write(encode(Hs.AsyncDeviceClearAcknowledge, this.#overlap, 0));
        return;
      case Hs.DeviceClearComplete:
        s.write(encode(Hs.DeviceClearAcknowledge, this.#overlap & control, 0)); // the mode both sides want
        return;
      case Hs.AsyncStatusQuery:
        s.write(encode(Hs.AsyncStatusResponse, this.instrument.readStatusByte(), 0));
        return;
      case Hs.AsyncRemoteLocalControl:
        this.remoteLocal = control;
        s.write(encode(Hs.AsyncRemoteLocalResponse, 0, 0));
        return;
      case Hs.AsyncLock:
        if (control === 1) this.#lock(session, param, payload.toString("latin1"));
        else s.write(encode(Hs.AsyncLockResponse, this.#release(session), 0));
        return;
      case Hs.Trigger:
        return;
      default:
        s.write(encode(Hs.Error, 0, 0, Buffer.from(`unrecognized message type ${type}`))); // 0: unidentified error
    }
  }

  // A whole message (DataEnd seen): answered with its message ID, in payloads within the client's maximum.
  #message(session: Session, messageId: number): void {
    const text = Buffer.concat(session.inbound).toString("latin1");
    session.inbound = [];
    session.inboundBytes = 0;
    const { messages, rest } = splitMessages(text, this.instrument.queryTerm);
    if (rest !== "") messages.push(rest); // DataEnd ends a message without its terminator too
    for (const message of messages) {
      const reply = this.instrument.handle(message);
      if (reply.kind === "data") this.#send(session, messageId, reply.bytes, true);
      else if (reply.kind === "drop") {
        this.#send(session, messageId, reply.bytes, false);
        session.sync.end();
      }
    }
  }

  #send(session: Session, messageId: number, bytes: Uint8Array, end: boolean): void {
    const max = Math.max(1, Math.min(session.clientMax, MAX_PAYLOAD));
    for (let off = 0; off < bytes.byteLength || off === 0; off += max) {
      const last = off + max >= bytes.byteLength;
      session.sync.write(encode(last && end ? Hs.DataEnd : Hs.Data, 0, messageId, bytes.subarray(off, off + max)));
      if (last) break;
    }
  }

  #grantable(session: Session, shared: string): boolean {
    if (this.#exclusive && this.#exclusive !== session) return false;
    if (shared === "") return [...this.#shared.keys()].every((holder) => holder === session);
    return [...this.#shared.entries()].every(([holder, name]) => holder === session || name === shared);
  }

  #lock(session: Session, timeoutMs: number, shared: string): void {
    const grant = (): boolean => {
      if (!this.#grantable(session, shared)) return false;
      if (shared === "") this.#exclusive = session;
      else this.#shared.set(session, shared);
      session.async?.write(encode(Hs.AsyncLockResponse, 1, 0)); // success
      return true;
    };
    if (grant()) return;
    let waiter: () => void = () => undefined;
    const timer = setTimeout(
      () => {
        session.lockTimers.delete(timer);
        const i = this.#lockWaiters.indexOf(waiter);
        if (i >= 0) this.#lockWaiters.splice(i, 1);
        session.async?.write(encode(Hs.AsyncLockResponse, 0, 0)); // failure: timed out
      },
      Math.min(timeoutMs, 60_000),
    );
    session.lockTimers.add(timer);
    waiter = () => {
      // A session that went away while it waited is granted nothing: no one could release it then.
      const gone = this.#sessions.get(session.id) !== session;
      if (!gone && !grant()) return;
      clearTimeout(timer);
      session.lockTimers.delete(timer);
      const i = this.#lockWaiters.indexOf(waiter);
      if (i >= 0) this.#lockWaiters.splice(i, 1);
    };
    this.#lockWaiters.push(waiter);
  }

  /** Releases what `session` holds: 1 exclusive released, 2 shared released, 3 nothing held (error). */
  #release(session: Session): number {
    let code = 3;
    if (this.#exclusive === session) {
      this.#exclusive = null;
      code = 1;
    } else if (this.#shared.delete(session)) code = 2;
    if (code !== 3) for (const w of [...this.#lockWaiters]) w();
    return code;
  }
}

/** The payload length the header at the front of `rx` announces; 0 before a whole header is in. */
function payloadLength(rx: RxBuffer): number {
  if (rx.buffered < 16) return 0;
  return Number(rx.buf.readBigUInt64BE(rx.pos + 8));
}
