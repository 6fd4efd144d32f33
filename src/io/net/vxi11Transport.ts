// TCPIP::host::name::INSTR on the event loop — VXI-11 (VXIbus Consortium, rev 1.0) core channel:
// create_link, device_write, device_read, device_clear, device_lock/unlock, destroy_link.
import { NetIoError } from "../ioErrors.ts";
import type { NetTransport } from "./netTransport.ts";
import { MAX_RECORD, RpcClient, XdrOut, portmapGetPort, type XdrIn } from "./oncRpcClient.ts";
import { RxBuffer } from "./rxBuffer.ts";
import { INTR_PROG, INTR_VERS, IntrServer } from "./vxi11Intr.ts";

const CORE_PROG = 0x0607af,
  VERS = 1;
const DEVICE_ENABLE_SRQ = 20,
  CREATE_INTR_CHAN = 25,
  ERR_CHANNEL_EXISTS = 29;
const CREATE_LINK = 10,
  DEVICE_WRITE = 11,
  DEVICE_READ = 12,
  DEVICE_READSTB = 13,
  DEVICE_CLEAR = 15,
  DEVICE_LOCK = 18,
  DEVICE_UNLOCK = 19,
  DESTROY_LINK = 23;
const FLAG_WAITLOCK = 1,
  FLAG_END = 8,
  FLAG_TERMCHR = 128;
const REASON_END = 4;
const ERR_IO_TIMEOUT = 15,
  ERR_LOCKED = 11;
const READ_CHUNK = 65536;
/** One device_read asks for at most this much, so its reply (data and header) fits one accepted record;
 * a larger read takes several. */
const MAX_READ_REQUEST = MAX_RECORD - 1024;
const ERROR_NAMES: Record<number, string> = {
  1: "syntax error",
  3: "device not accessible",
  4: "invalid link identifier",
  5: "parameter error",
  6: "channel not established",
  8: "operation not supported",
  9: "out of resources",
  11: "device locked by another link",
  12: "no lock held by this link",
  15: "I/O timeout",
  17: "I/O error",
  21: "invalid address",
  23: "abort",
  29: "channel already established",
};

// A little beyond the device's own io_timeout, so its error 15 reaches us before our deadline does.
const rpcDeadline = (d: number): number => d + 1000;
const ioTimeout = (d: number): number => Math.max(0, Math.ceil(d - performance.now()));

export class Vxi11Transport implements NetTransport {
  readonly interfaceType = "INSTR";
  readonly marksEnd = true;
  readonly rx = new RxBuffer();
  #core: RpcClient | null = null;
  #lid = -1;
  #maxRecv = 1024;
  #intr: IntrServer | null = null;
  #onSrq: (() => void) | null = null;

  constructor(
    readonly host: string,
    readonly device: string,
    readonly termChar: number,
    readonly portmapperPort = 111,
  ) {}

  get isOpen(): boolean {
    return this.#core?.link.isOpen === true;
  }

  async open(d: number): Promise<void> {
    this.close();
    const port = await portmapGetPort(this.host, CORE_PROG, VERS, d, this.portmapperPort);
    const core = new RpcClient(this.host, port, CORE_PROG, VERS);
    await core.connect(d);
    const args = new XdrOut().i32(process.pid).u32(0).u32(0).opaque(Buffer.from(this.device, "latin1")); // clientId, lockDevice, lock_timeout
    let r: XdrIn;
    try {
      r = await core.call(CREATE_LINK, args.bytes(), rpcDeadline(d));
    } catch (e) {
      core.link.close();
      throw e;
    }
    const err = r.u32();
    const lid = r.i32();
    r.u32(); // abortPort: device_abort is not offered (a pending read ends by its io_timeout)
    const maxRecv = r.u32();
    if (err !== 0) {
      core.link.close();
      this.#check(err, "create_link");
    }
    this.#core = core;
    this.#lid = lid;
    this.#maxRecv = maxRecv >= 64 ? maxRecv : 1024;
    // The interrupt channel belongs to the core connection: a new connection needs it again.
    if (this.#onSrq) await this.#setUpSrq(d);
  }

  async enableSrq(d: number, onSrq: () => void): Promise<void> {
    this.#onSrq = onSrq;
    await this.#setUpSrq(d);
  }

  dispose(): void {
    this.#intr?.close();
    this.#intr = null;
    this.#onSrq = null;
  }

  // create_intr_chan pointing the instrument at our interrupt server, then device_enable_srq on the link.
  async #setUpSrq(d: number): Promise<void> {
    const core = this.#live();
    const local = core.link.localAddress ?? "";
    const octets = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(local);
    if (!octets)
      throw new NetIoError("unsupported", `VXI-11 service requests need an IPv4 connection (local address '${local}')`);
    // The handle names this link (given to device_enable_srq below): another's is not ours.
    this.#intr ??= new IntrServer(
      local,
      () => this.#core?.link.remoteAddress,
      (h) => {
        if (h.byteLength === 4 && h.readInt32BE(0) === this.#lid) this.#onSrq?.();
      },
    );
    const addr = octets.slice(1).reduce((a, o) => a * 256 + Number(o), 0);
    const chan = await core.call(
      CREATE_INTR_CHAN,
      new XdrOut().u32(addr).u32(this.#intr.port).u32(INTR_PROG).u32(INTR_VERS).u32(0).bytes(),
      rpcDeadline(d),
    );
    const err = chan.u32();
    if (err !== ERR_CHANNEL_EXISTS) this.#check(err, "create_intr_chan");
    const handle = Buffer.alloc(4);
    handle.writeInt32BE(this.#lid);
    const r = await core.call(
      DEVICE_ENABLE_SRQ,
      new XdrOut().i32(this.#lid).u32(1).opaque(handle).bytes(),
      rpcDeadline(d),
    );
    this.#check(r.u32(), "device_enable_srq");
  }

  close(): void {
    const core = this.#core;
    this.#core = null;
    if (!core) return;
    if (core.link.isOpen && this.#lid >= 0) {
      // The link dies with the connection anyway; destroy_link is the polite form, not waited for long.
      void core
        .call(DESTROY_LINK, new XdrOut().i32(this.#lid).bytes(), performance.now() + 500)
        .catch(() => undefined)
        .finally(() => core.link.close());
    } else core.link.close();
    this.#lid = -1;
  }

  abort(): void {
    this.#core?.link.close(
      new NetIoError("connection", `VXI-11 link to ${this.host} closed while waiting for it`, 107, "ENOTCONN"),
    );
  }

  async write(message: Uint8Array | string, d: number): Promise<void> {
    const data = typeof message === "string" ? Buffer.from(message) : message;
    const core = this.#live();
    let off = 0;
    do {
      const chunk = Math.min(data.byteLength - off, this.#maxRecv);
      const last = off + chunk === data.byteLength;
      const args = new XdrOut()
        .i32(this.#lid)
        .u32(ioTimeout(d))
        .u32(ioTimeout(d))
        .u32(last ? FLAG_END : 0)
        .opaque(data.subarray(off, off + chunk));
      const r = await core.call(DEVICE_WRITE, args.bytes(), rpcDeadline(d));
      this.#check(r.u32(), "device_write");
      const size = r.u32();
      if (size === 0 && chunk > 0)
        throw new NetIoError("device", "VXI-11 device_write accepted no bytes", 17, "VXI11_ERROR");
      off += Math.min(size, chunk);
    } while (off < data.byteLength);
  }

  async fill(d: number, want: number): Promise<void> {
    const { data, end } = await this.#deviceRead(Math.max(want, READ_CHUNK), d);
    this.rx.append(Buffer.from(data), end); // a copy: the reply is a view on the link's receive buffer
  }

  async readInto(dest: Uint8Array, have: number, d: number): Promise<boolean> {
    const rx = this.rx;
    const take = Math.min(rx.buffered, dest.byteLength - have);
    dest.set(rx.buf.subarray(rx.pos, rx.pos + take), have);
    have += take;
    let end = rx.endAt >= 0 && rx.pos + take >= rx.endAt;
    rx.reset();
    while (have < dest.byteLength) {
      const r = await this.#deviceRead(dest.byteLength - have, d);
      dest.set(r.data, have); // straight from the reply into the caller's buffer
      have += r.data.byteLength;
      end = r.end;
    }
    return end;
  }

  /** device_readstb: the status byte, as a serial poll reads it (the instrument clears RQS). */
  async statusByte(d: number): Promise<number> {
    const r = await this.#live().call(
      DEVICE_READSTB,
      new XdrOut().i32(this.#lid).u32(0).u32(ioTimeout(d)).u32(ioTimeout(d)).bytes(),
      rpcDeadline(d),
    );
    this.#check(r.u32(), "device_readstb");
    return r.u32() & 0xff;
  }

  async clear(d: number): Promise<void> {
    if (!this.isOpen) return;
    const r = await this.#live().call(
      DEVICE_CLEAR,
      new XdrOut().i32(this.#lid).u32(0).u32(ioTimeout(d)).u32(ioTimeout(d)).bytes(),
      rpcDeadline(d),
    );
    this.#check(r.u32(), "device_clear");
  }

  discardInput(): void {
    // Nothing arrives unasked: a VXI-11 answer is sent when device_read asks for it.
  }

  async lock(d: number): Promise<void> {
    const r = await this.#live().call(
      DEVICE_LOCK,
      new XdrOut().i32(this.#lid).u32(FLAG_WAITLOCK).u32(ioTimeout(d)).bytes(),
      rpcDeadline(d),
    );
    const err = r.u32();
    if (err === ERR_LOCKED)
      throw new NetIoError(
        "timeout",
        `VXI-11 device_lock on ${this.host}/${this.device}: still locked by another link`,
        err,
        "VXI11_LOCKED",
      );
    this.#check(err, "device_lock");
  }

  async unlock(d: number): Promise<void> {
    const r = await this.#live().call(DEVICE_UNLOCK, new XdrOut().i32(this.#lid).bytes(), rpcDeadline(d));
    this.#check(r.u32(), "device_unlock");
  }

  // A device may answer with nothing (no data ready yet): ask again, but only until our own deadline;
  // the RPC layer's extra second is for the device's timeout reply, not for more rounds.
  async #deviceRead(max: number, d: number): Promise<{ data: Buffer; end: boolean }> {
    const core = this.#live();
    const tc = this.termChar;
    for (;;) {
      const args = new XdrOut()
        .i32(this.#lid)
        .u32(Math.min(max, MAX_READ_REQUEST))
        .u32(ioTimeout(d))
        .u32(ioTimeout(d))
        .u32(tc >= 0 ? FLAG_TERMCHR : 0)
        .u32(tc >= 0 ? tc : 0);
      const r = await core.call(DEVICE_READ, args.bytes(), rpcDeadline(d));
      this.#check(r.u32(), "device_read");
      // Only END ends a message: a CHR stop can fall inside a binary block, and the session finds the
      // term char in its buffer anyway.
      const end = (r.u32() & REASON_END) !== 0;
      const data = r.opaque();
      if (data.byteLength > max) {
        throw new NetIoError(
          "device",
          `VXI-11 device_read on ${this.host}/${this.device}: the reply holds more bytes than requested`,
          17,
          "VXI11_ERROR",
        );
      }
      if (data.byteLength > 0 || end) return { data, end };
      if (performance.now() >= d) {
        throw new NetIoError(
          "timeout",
          `VXI-11 device_read on ${this.host}/${this.device}: no data before the deadline`,
          110,
          "ETIMEDOUT",
        );
      }
    }
  }

  #live(): RpcClient {
    if (this.#core?.link.isOpen) return this.#core;
    throw new NetIoError("connection", `VXI-11 link to ${this.host} is not open`, 107, "ENOTCONN");
  }

  #check(err: number, op: string): void {
    if (err === 0) return;
    const msg = `VXI-11 ${op} on ${this.host}/${this.device}: ${ERROR_NAMES[err] ?? "unknown error"}`;
    if (err === ERR_IO_TIMEOUT) throw new NetIoError("timeout", msg, err, "VXI11_IO_TIMEOUT");
    if (err === 3 || err === 4 || err === 6) throw new NetIoError("connection", msg, err, "VXI11_ERROR");
    throw new NetIoError("device", msg, err, "VXI11_ERROR");
  }
}
