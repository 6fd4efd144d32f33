// The VXI-11 interrupt channel, client side: an ONC RPC server (program 0x0607B1, version 1) on the event
// loop that the instrument connects to after create_intr_chan and calls device_intr_srq(handle) on when
// it requests service. Bound to the local address of the core channel, so the instrument can reach it.
import type { Socket, TCPSocketListener } from "bun";

export const INTR_PROG = 0x0607b1,
  INTR_VERS = 1;
const DEVICE_INTR_SRQ = 30;
/** A call record beyond this closes the connection (device_intr_srq carries at most 40 bytes of handle). */
const MAX_RECORD = 4096;

interface Conn {
  pending: Buffer;
}

export class IntrServer {
  readonly port: number;
  readonly #listener: TCPSocketListener<Conn>;

  /** `onSrq` gets the handle given to device_enable_srq; only `peer()`, the instrument's address, may
   * connect (anyone else who can reach the port could otherwise inject service requests). */
  constructor(host: string, peer: () => string | undefined, onSrq: (handle: Buffer) => void) {
    this.#listener = Bun.listen<Conn>({
      hostname: host,
      port: 0,
      socket: {
        open(s) {
          s.data = { pending: Buffer.alloc(0) };
          if (plainAddress(s.remoteAddress) !== plainAddress(peer())) s.end();
        },
        data(s, chunk) {
          const c = s.data;
          c.pending = c.pending.byteLength ? Buffer.concat([c.pending, chunk]) : chunk;
          while (c.pending.byteLength >= 4) {
            const mark = c.pending.readUInt32BE(0);
            const len = mark & 0x7fffffff;
            // One-fragment calls only: device_intr_srq is tiny. Anything else is not an instrument.
            if (!(mark & 0x80000000) || len > MAX_RECORD) return void s.end();
            if (c.pending.byteLength < 4 + len) return;
            const call = c.pending.subarray(4, 4 + len);
            c.pending = c.pending.subarray(4 + len);
            answer(s, call, onSrq);
          }
        },
      },
    });
    this.port = this.#listener.port;
    this.#listener.unref(); // an instrument's interrupt channel must not keep the process alive
  }

  close(): void {
    this.#listener.stop(true);
  }
}

function answer(s: Socket<Conn>, call: Buffer, onSrq: (handle: Buffer) => void): void {
  if (call.byteLength < 40) return void s.end();
  const xid = call.readUInt32BE(0);
  const prog = call.readUInt32BE(12),
    vers = call.readUInt32BE(16),
    proc = call.readUInt32BE(20);
  // Skip the credential and verifier (flavour, length, body each); a length past the record is not an
  // instrument's call.
  let off = 24;
  for (let i = 0; i < 2; i++) {
    if (off + 8 > call.byteLength) return void s.end();
    off += 8 + ((call.readUInt32BE(off + 4) + 3) & ~3);
  }
  const ok = prog === INTR_PROG && vers === INTR_VERS && (proc === 0 || proc === DEVICE_INTR_SRQ);
  const reply = Buffer.alloc(28);
  reply.writeUInt32BE((0x80000000 | 24) >>> 0, 0);
  reply.writeUInt32BE(xid, 4);
  reply.writeUInt32BE(1, 8); // REPLY
  reply.writeUInt32BE(0, 12); // MSG_ACCEPTED; verifier AUTH_NONE (flavour 0, length 0) at 16, 20
  reply.writeUInt32BE(ok ? 0 : 3, 24); // SUCCESS or PROC_UNAVAIL
  s.write(reply);
  if (!ok || proc !== DEVICE_INTR_SRQ || off + 4 > call.byteLength) return;
  const n = call.readUInt32BE(off);
  if (off + 4 + n <= call.byteLength) onSrq(call.subarray(off + 4, off + 4 + n));
}

/** "::ffff:10.0.0.2" and "10.0.0.2" are one address. */
function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") ? a.slice(7) : a;
}
