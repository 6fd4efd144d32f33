// ONC RPC (RFC 5531) calls over TCP with record marking and XDR (RFC 4506) on the event loop, and the
// portmapper lookup (program 100000, version 2, GETPORT) that VXI-11 starts with. One call at a time
// per client: the session above runs its requests in order.
import { NetIoError } from "../ioErrors.ts";
import type { RxBuffer } from "./rxBuffer.ts";
import { type FrameReader, TcpLink } from "./tcpLink.ts";

const CALL = 0,
  REPLY = 1,
  MSG_ACCEPTED = 0,
  SUCCESS = 0;
/** The largest reply record accepted (device_read asks for less: see MAX_READ_REQUEST). */
export const MAX_RECORD = 64 << 20;
/** Records up to this size are framed in the data callback; larger ones are read straight into their buffer. */
const FRAME_IN_CALLBACK = 65536;
const CALL_HEAD = 44; // record mark and the ten words of an AUTH_NONE call header
const ACCEPT_STAT = ["SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH", "PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR"];

export class XdrOut {
  #buf = Buffer.allocUnsafe(256);
  #len = 0;
  u32(v: number): this {
    this.#reserve(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  i32(v: number): this {
    return this.u32(v | 0);
  }
  /** Variable-length opaque: length, bytes, zero padding to 4. */
  opaque(data: Uint8Array): this {
    const pad = (4 - (data.byteLength % 4)) % 4;
    this.u32(data.byteLength);
    this.#reserve(data.byteLength + pad);
    this.#buf.set(data, this.#len);
    this.#buf.fill(0, this.#len + data.byteLength, this.#len + data.byteLength + pad);
    this.#len += data.byteLength + pad;
    return this;
  }
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.#buf.byteLength, this.#len + n));
    this.#buf.copy(grown, 0, 0, this.#len);
    this.#buf = grown;
  }
}

export class XdrIn {
  constructor(
    readonly buf: Buffer,
    public off: number,
  ) {}
  u32(): number {
    if (this.off + 4 > this.buf.byteLength) throw new NetIoError("device", "truncated ONC RPC reply");
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  i32(): number {
    return this.u32() | 0;
  }
  /** A view on the opaque's bytes (valid until the next call on the client). */
  opaque(): Buffer {
    const n = this.u32();
    if (this.off + n > this.buf.byteLength) throw new NetIoError("device", "truncated ONC RPC reply");
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n + ((4 - (n % 4)) % 4);
    return out;
  }
}

export class RpcClient {
  readonly link: TcpLink;
  #xid = 0x4c440000; // "LD" in the high half: readable in packet captures
  readonly #reader = new RecordReader(this);

  constructor(
    host: string,
    port: number,
    readonly prog: number,
    readonly vers: number,
  ) {
    this.link = new TcpLink(host, port);
  }

  connect(deadline: number): Promise<void> {
    return this.link.connect(deadline);
  }

  /** Sends the call and resolves with a reader at its results. */
  async call(proc: number, args: Uint8Array, deadline: number): Promise<XdrIn> {
    const xid = (this.#xid = (this.#xid + 1) >>> 0);
    // One buffer, one write: the record mark, the call header (AUTH_NONE credential and verifier), the args.
    const msg = Buffer.allocUnsafe(CALL_HEAD + args.byteLength);
    msg.writeUInt32BE((0x80000000 | (CALL_HEAD - 4 + args.byteLength)) >>> 0, 0);
    msg.writeUInt32BE(xid, 4);
    msg.writeUInt32BE(CALL, 8);
    msg.writeUInt32BE(2, 12);
    msg.writeUInt32BE(this.prog, 16);
    msg.writeUInt32BE(this.vers, 20);
    msg.writeUInt32BE(proc, 24);
    msg.fill(0, 28, CALL_HEAD);
    msg.set(args, CALL_HEAD);
    const sent = this.link.write(msg, deadline);
    if (sent) await sent;
    for (;;) {
      const r = new XdrIn(await this.#reader.read(deadline), 0);
      if (r.u32() !== xid) {
        // The late answer to a call given up on.
        if (performance.now() >= deadline) throw noReply();
        continue;
      }
      if (r.u32() !== REPLY) throw new NetIoError("device", "ONC RPC: not a reply");
      if (r.u32() !== MSG_ACCEPTED)
        throw new NetIoError("device", "ONC RPC call denied by the server", 1, "MSG_DENIED");
      r.u32(); // verifier flavour
      r.opaque();
      const stat = r.u32();
      if (stat !== SUCCESS) {
        const name = ACCEPT_STAT[stat] ?? "RPC_ERROR";
        throw new NetIoError("device", `ONC RPC call failed: ${name}`, stat, name);
      }
      return r;
    }
  }

  // A record's fragments joined; a single-fragment record is a view on the received bytes (no copy).
  async readRecord(deadline: number): Promise<Buffer> {
    const rx = this.link.rx;
    let parts: Buffer[] | null = null;
    let total = 0;
    let consumed = false;
    try {
      for (;;) {
        while (rx.buffered < 4) {
          await this.link.waitData(deadline);
        }
        const mark = rx.buf.readUInt32BE(rx.pos);
        const len = mark & 0x7fffffff;
        consumed = true; // from here on, a failure leaves the stream out of step (closed below)
        if (total + len > MAX_RECORD) throw new NetIoError("device", "ONC RPC record larger than 64 MiB");
        rx.pos += 4;
        let frag: Buffer;
        if (rx.buffered >= len) {
          frag = rx.buf.subarray(rx.pos, rx.pos + len);
          rx.pos += len;
          if (rx.pos >= rx.len) rx.reset();
        } else {
          frag = Buffer.allocUnsafe(len);
          await this.link.readInto(frag, 0, deadline, true);
        }
        const last = (mark & 0x80000000) !== 0;
        if (last && !parts) return frag;
        (parts ??= []).push(last ? frag : Buffer.from(frag)); // a view would be overwritten by later input
        total += len;
        if (last) return Buffer.concat(parts, total);
        if (performance.now() >= deadline) throw noReply();
      }
    } catch (e) {
      // The rest of a record cut short would be read by the next call as a record mark: the stream is
      // out of step for good, so close it and let the next call reconnect.
      if (consumed) this.link.close(e instanceof NetIoError ? e : undefined);
      throw e;
    }
  }
}

// The usual reply — one fragment, small — framed in the data callback, which settles the call's await
// itself. It takes nothing before the record is whole, so anything else goes to readRecord as it is.
class RecordReader implements FrameReader {
  #resolve: ((b: Buffer | Promise<Buffer>) => void) | null = null;
  #reject: ((e: unknown) => void) | null = null;
  #deadline = 0;

  constructor(readonly client: RpcClient) {}

  read(deadline: number): Promise<Buffer> {
    this.#deadline = deadline;
    const p = new Promise<Buffer>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.client.link.read(this, deadline);
    return p;
  }

  input(rx: RxBuffer): boolean {
    if (rx.buffered < 4) return false;
    const mark = rx.buf.readUInt32BE(rx.pos);
    const len = mark & 0x7fffffff;
    if ((mark & 0x80000000) === 0 || len > FRAME_IN_CALLBACK) {
      this.#settle().resolve(this.client.readRecord(this.#deadline));
      return true;
    }
    if (rx.buffered < 4 + len) return false;
    const start = rx.pos + 4;
    rx.pos = start + len;
    const record = rx.buf.subarray(start, start + len);
    if (rx.pos >= rx.len) rx.reset();
    this.#settle().resolve(record);
    return true;
  }

  fail(e: NetIoError): void {
    // Part of a reply cut off here would be read by the next call as the start of its own: the stream is
    // out of step for good, so close it and let the next call reconnect (as readRecord does).
    if (this.client.link.rx.buffered > 0) this.client.link.close(e);
    this.#settle().reject(e);
  }

  #settle(): { resolve: (b: Buffer | Promise<Buffer>) => void; reject: (e: unknown) => void } {
    const out = { resolve: this.#resolve!, reject: this.#reject! };
    this.#resolve = this.#reject = null;
    return out;
  }
}

function noReply(): NetIoError {
  return new NetIoError("timeout", "ONC RPC: no reply to this call before the deadline", 110, "ETIMEDOUT");
}

/** The TCP port the portmapper on `host` has for (prog, vers, TCP). */
export async function portmapGetPort(
  host: string,
  prog: number,
  vers: number,
  deadline: number,
  portmapperPort = 111,
): Promise<number> {
  const pm = new RpcClient(host, portmapperPort, 100000, 2);
  try {
    await pm.connect(deadline);
  } catch (e) {
    const n = e as NetIoError;
    throw new NetIoError(
      n.kind,
      `portmapper (rpcbind) on ${host}:${portmapperPort} unreachable: ${n.message}`,
      n.code,
      n.codeName,
    );
  }
  try {
    const r = await pm.call(3, new XdrOut().u32(prog).u32(vers).u32(6).u32(0).bytes(), deadline); // GETPORT, TCP
    const port = r.u32();
    if (port === 0)
      throw new NetIoError(
        "connection",
        `no VXI-11 server registered with the portmapper on ${host}`,
        111,
        "ECONNREFUSED",
      );
    // The reply is a u32: cut to 16 bits it would silently reach some other port.
    if (port > 65535)
      throw new NetIoError(
        "connection",
        `the portmapper on ${host} answered port ${port}, outside 1–65535`,
        71,
        "EPROTO",
      );
    return port;
  } finally {
    pm.link.close();
  }
}
