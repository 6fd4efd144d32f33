// The server side of ONC RPC over TCP (RFC 5531, record marking) and XDR (RFC 4506), enough for a
// VXI-11 instrument; plus the portmapper SET/UNSET/GETPORT calls that register it with rpcbind.
import type { Socket, TCPSocketListener } from "bun";

export class XdrReader {
  #view: DataView;
  #bytes: Uint8Array;
  #off: number;
  constructor(bytes: Uint8Array, off = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#off = off;
  }
  u32(): number {
    if (this.#off + 4 > this.#bytes.byteLength) throw new RangeError("truncated XDR");
    const v = this.#view.getUint32(this.#off);
    this.#off += 4;
    return v;
  }
  i32(): number {
    return this.u32() | 0;
  }
  opaque(): Uint8Array {
    const n = this.u32();
    if (this.#off + n > this.#bytes.byteLength) throw new RangeError("truncated XDR");
    const out = this.#bytes.subarray(this.#off, this.#off + n);
    this.#off += n + ((4 - (n % 4)) % 4);
    return out;
  }
  string(): string {
    return Buffer.from(this.opaque()).toString("latin1");
  }
}

export class XdrWriter {
  #parts: Uint8Array[] = [];
  #length = 0;
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    return this.#push(b);
  }
  i32(v: number): this {
    return this.u32(v | 0);
  }
  opaque(data: Uint8Array): this {
    this.u32(data.byteLength);
    this.#push(data);
    const pad = (4 - (data.byteLength % 4)) % 4;
    return pad ? this.#push(new Uint8Array(pad)) : this;
  }
  string(s: string): this {
    return this.opaque(Buffer.from(s, "latin1"));
  }
  get length(): number {
    return this.#length;
  }
  parts(): Uint8Array[] {
    return this.#parts;
  }
  #push(b: Uint8Array): this {
    this.#parts.push(b);
    this.#length += b.byteLength;
    return this;
  }
}

/** A procedure's result, or undefined to answer nothing and drop the connection (a dying peer). */
export type RpcHandler = (
  prog: number,
  vers: number,
  proc: number,
  args: XdrReader,
  conn: RpcConnection,
) => XdrWriter | null | undefined | Promise<XdrWriter | null | undefined>;
/** null: PROC_UNAVAIL; undefined: close the connection without a reply. */

export interface RpcConnection {
  id: number;
  /** Closed connections: handlers waiting on timers check it before answering. */
  closed: boolean;
}

interface ConnState {
  conn: RpcConnection;
  pending: Uint8Array;
  fragments: Uint8Array[];
  queue: Promise<void>;
  /** Bytes of the calls read and not yet answered. */
  backlog: number;
  out: Uint8Array[];
  paused: boolean;
}

/** Calls larger than this close the connection (VXI-11 writes are chunked to maxRecvSize, 1 MiB here). */
export const MAX_RECORD_BYTES = 16 << 20;

/** Calls waiting for an earlier one (a device_read waits up to its io_timeout) and answers the client has not
 * taken: beyond this the server stops reading the connection until it catches up (the kernel holds the rest). */
export const MAX_QUEUED_BYTES = 16 << 20;

const ACCEPTED = 0,
  SUCCESS = 0,
  PROC_UNAVAIL = 3,
  GARBAGE_ARGS = 4;
let nextConnId = 1;

export class RpcServer {
  readonly port: number;
  readonly #listener: TCPSocketListener<ConnState>;
  readonly #conns = new Set<ConnState>();
  onClose?: (conn: RpcConnection) => void;

  constructor(handler: RpcHandler, host = "127.0.0.1", port = 0) {
    const self = this;
    this.#listener = Bun.listen<ConnState>({
      hostname: host,
      port,
      socket: {
        open(s) {
          s.data = {
            conn: { id: nextConnId++, closed: false },
            pending: new Uint8Array(0),
            fragments: [],
            queue: Promise.resolve(),
            backlog: 0,
            out: [],
            paused: false,
          };
          self.#conns.add(s.data);
          s.setNoDelay?.(true);
        },
        data(s, chunk) {
          const st = s.data;
          st.pending = st.pending.byteLength ? Buffer.concat([st.pending, chunk]) : new Uint8Array(chunk);
          for (;;) {
            if (st.pending.byteLength < 4) break;
            const mark = new DataView(st.pending.buffer, st.pending.byteOffset).getUint32(0);
            const len = mark & 0x7fffffff;
            if (len + st.fragments.reduce((n, f) => n + f.byteLength, 0) > MAX_RECORD_BYTES) {
              st.pending = new Uint8Array(0);
              st.fragments = [];
              s.end(); // a record no VXI-11 call needs: refuse it before buffering it
              return;
            }
            if (st.pending.byteLength < 4 + len) break;
            st.fragments.push(st.pending.subarray(4, 4 + len));
            st.pending = st.pending.subarray(4 + len);
            if (mark & 0x80000000) {
              const record = st.fragments.length === 1 ? st.fragments[0]! : Buffer.concat(st.fragments);
              st.fragments = [];
              st.backlog += record.byteLength;
              // Calls on one connection are answered in order, one at a time, as a real instrument does.
              st.queue = st.queue
                .then(() => self.#dispatch(s, record, handler))
                .catch(() => void s.end()) // a call too short for its own header
                .then(() => {
                  st.backlog -= record.byteLength;
                  throttle(s);
                });
            }
          }
          throttle(s);
        },
        drain(s) {
          flush(s);
          throttle(s);
        },
        close(s) {
          self.#conns.delete(s.data);
          s.data.conn.closed = true;
          self.onClose?.(s.data.conn);
        },
      },
    });
    this.port = this.#listener.port;
  }

  /** Calls waiting to be answered and answers waiting for their clients, over all connections. */
  get queuedBytes(): number {
    let n = 0;
    for (const st of this.#conns) n += st.backlog + outBytes(st);
    return n;
  }

  async #dispatch(s: Socket<ConnState>, record: Uint8Array, handler: RpcHandler): Promise<void> {
    if (s.data.conn.closed) return;
    const r = new XdrReader(record);
    const xid = r.u32();
    if (r.u32() !== 0) return; // not a CALL
    r.u32(); // rpc version
    const prog = r.u32(),
      vers = r.u32(),
      proc = r.u32();
    r.u32();
    r.opaque(); // credentials
    r.u32();
    r.opaque(); // verifier
    let result: XdrWriter | null | undefined;
    let stat = SUCCESS;
    try {
      result = await handler(prog, vers, proc, r, s.data.conn);
      if (result === undefined) {
        s.end();
        return;
      }
      if (result === null) stat = PROC_UNAVAIL;
    } catch {
      stat = GARBAGE_ARGS;
    }
    if (s.data.conn.closed) return;
    const head = new XdrWriter().u32(xid).u32(1).u32(ACCEPTED).u32(0).u32(0).u32(stat);
    const body = stat === SUCCESS && result ? result : new XdrWriter();
    const mark = new XdrWriter().u32(0x80000000 | (head.length + body.length));
    for (const p of [...mark.parts(), ...head.parts(), ...body.parts()]) s.data.out.push(p);
    flush(s);
  }

  close(): void {
    this.#listener.stop(true);
  }
}

/** Stops reading a connection while what waits on it is beyond MAX_QUEUED_BYTES; reads it again once it is not. */
function throttle(s: Socket<ConnState>): void {
  const st = s.data;
  const behind = st.backlog + outBytes(st) > MAX_QUEUED_BYTES;
  if (behind && !st.paused) s.pause();
  else if (!behind && st.paused) s.resume();
  st.paused = behind;
}

function outBytes(st: ConnState): number {
  let n = 0;
  for (const b of st.out) n += b.byteLength;
  return n;
}

function flush(s: Socket<ConnState>): void {
  const out = s.data.out;
  if (out.length === 0) return;
  const all = out.length === 1 ? out[0]! : Buffer.concat(out);
  out.length = 0;
  const n = s.write(all);
  if (n < all.byteLength) out.push(all.subarray(Math.max(n, 0)));
}

/** One call to the portmapper on 127.0.0.1:111 (version 2): SET = 1, UNSET = 2; whether it was done. */
export async function portmapCall(proc: 1 | 2, prog: number, vers: number, port: number): Promise<boolean> {
  return (await portmap(proc, prog, vers, port)) === 1;
}

/** The TCP port rpcbind on 127.0.0.1 has registered for `prog` version `vers` (GETPORT); 0 for none. */
export function portmapLookup(prog: number, vers: number): Promise<number> {
  return portmap(3, prog, vers, 0);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (a registration's server still there). */
export async function isListening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** A portmapper call's one-word result. */
async function portmap(proc: 1 | 2 | 3, prog: number, vers: number, port: number): Promise<number> {
  const args = new XdrWriter().u32(prog).u32(vers).u32(6).u32(port);
  const call = new XdrWriter().u32(0x4c445353).u32(0).u32(2).u32(100000).u32(2).u32(proc).u32(0).u32(0).u32(0).u32(0);
  const body = Buffer.concat([...call.parts(), ...args.parts()]);
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | body.byteLength) >>> 0);
  const reply = await new Promise<Uint8Array>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error("rpcbind did not answer within 2 s")), 2000);
    Bun.connect({
      hostname: "127.0.0.1",
      port: 111,
      socket: {
        open(s) {
          s.write(Buffer.concat([mark, body]));
        },
        data(s, chunk) {
          got = Buffer.concat([got, chunk]);
          if (got.byteLength >= 4 && got.byteLength >= 4 + (got.readUInt32BE(0) & 0x7fffffff)) {
            clearTimeout(timer);
            s.end();
            resolve(got.subarray(4));
          }
        },
        connectError(_s, e) {
          clearTimeout(timer);
          reject(
            new Error(
              `rpcbind is not running on 127.0.0.1:111 (apt install rpcbind; start it with rpcbind -w): ${e.message}`,
            ),
          );
        },
      },
    }).catch((e: Error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `rpcbind is not running on 127.0.0.1:111 (apt install rpcbind; start it with rpcbind -w): ${e.message}`,
        ),
      );
    });
  });
  const r = new XdrReader(reply);
  r.u32();
  r.u32();
  if (r.u32() !== 0) throw new Error("rpcbind refused the registration");
  r.u32();
  r.opaque();
  if (r.u32() !== 0) throw new Error("rpcbind could not run the call");
  return r.u32();
}
