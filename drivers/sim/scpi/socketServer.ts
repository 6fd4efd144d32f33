// A simulated instrument on a raw TCP socket (TCPIP::host::port::SOCKET), one instrument state shared
// by every connection, as a real instrument's is.
import type { Socket, TCPSocketListener } from "bun";
import type { SimulatedInstrument } from "./instrument.ts";
import { MAX_PENDING_BYTES, splitMessages } from "./messages.ts";

export { MAX_PENDING_BYTES };

/** Answers waiting for a client that does not read: beyond this the simulator stops reading its queries
 * (the kernel then holds them, and the client waits), so a slow reader cannot grow its memory. */
export const MAX_QUEUED_BYTES = 8 << 20;

interface Conn {
  pending: string;
  /** Queries received but not yet answered (held while the client is not reading its answers). */
  backlog: string[];
  out: Uint8Array[];
  /** Bytes in `out`. */
  queued: number;
  paused: boolean;
  endAfterFlush: boolean;
  handle: (message: string) => ReturnType<SimulatedInstrument["handle"]>;
}

export class SocketSimServer {
  readonly host: string;
  readonly port: number;
  readonly #listener: TCPSocketListener<Conn>;
  readonly #conns = new Set<Conn>();

  constructor(instrument: SimulatedInstrument, options: { host?: string; port?: number } = {}) {
    const term = instrument.queryTerm;
    const conns = this.#conns;
    this.#listener = Bun.listen<Conn>({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      socket: {
        open(s) {
          s.data = {
            pending: "",
            backlog: [],
            out: [],
            queued: 0,
            paused: false,
            endAfterFlush: false,
            handle: (message) => instrument.handle(message),
          };
          conns.add(s.data);
          s.setNoDelay?.(true);
        },
        data(s, chunk) {
          const c = s.data;
          // latin1 keeps every byte as one char, so binary payloads survive the split.
          c.pending += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
          const { messages, rest } = splitMessages(c.pending, term);
          c.pending = rest;
          c.backlog.push(...messages);
          answer(s);
          if (c.pending.length > MAX_PENDING_BYTES) {
            c.pending = "";
            s.end();
          }
        },
        drain(s) {
          flush(s);
          answer(s);
        },
        close(s) {
          conns.delete(s.data);
        },
      },
    });
    this.host = this.#listener.hostname;
    this.port = this.#listener.port;
  }

  /** Answers waiting, over all connections, for clients to read them (bounded by MAX_QUEUED_BYTES each). */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.#conns) n += c.queued;
    return n;
  }

  get resource(): string {
    return `TCPIP0::${this.host}::${this.port}::SOCKET`;
  }

  close(): void {
    this.#listener.stop(true);
  }
}

/** Answers the queries held, in order, while the client keeps up; stops reading it while it does not. */
function answer(s: Socket<Conn>): void {
  const c = s.data;
  while (c.backlog.length > 0 && c.queued <= MAX_QUEUED_BYTES && !c.endAfterFlush) {
    const reply = c.handle(c.backlog.shift()!);
    if (reply.kind === "data") send(s, reply.bytes);
    else if (reply.kind === "drop") {
      send(s, reply.bytes);
      c.endAfterFlush = true;
      c.pending = "";
      c.backlog = [];
      flush(s);
      return;
    }
  }
  const behind = c.backlog.length > 0 || c.queued > MAX_QUEUED_BYTES;
  if (behind && !c.paused) s.pause();
  else if (!behind && c.paused) s.resume();
  c.paused = behind;
}

function send(s: Socket<Conn>, bytes: Uint8Array): void {
  const c = s.data;
  if (c.out.length > 0) {
    c.out.push(bytes);
    c.queued += bytes.byteLength;
    return;
  }
  const n = s.write(bytes);
  if (n < bytes.byteLength) {
    const rest = bytes.subarray(Math.max(n, 0));
    c.out.push(rest);
    c.queued += rest.byteLength;
  }
}

function flush(s: Socket<Conn>): void {
  const c = s.data;
  while (c.out.length > 0) {
    const head = c.out[0]!;
    const n = s.write(head);
    if (n < head.byteLength) {
      c.out[0] = head.subarray(Math.max(n, 0));
      c.queued -= Math.max(n, 0);
      return;
    }
    c.out.shift();
    c.queued -= head.byteLength;
  }
  if (c.endAfterFlush) s.end();
}
