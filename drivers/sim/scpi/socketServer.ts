// A simulated instrument on a raw TCP socket (TCPIP::host::port::SOCKET), one instrument state shared
// by every connection, as a real instrument's is.
import type { Socket, TCPSocketListener } from "bun";
import type { SimulatedInstrument } from "./instrument.ts";
import { splitMessages } from "./messages.ts";

/** A client that sends this much without a message terminator is dropped: the buffer stays bounded. */
export const MAX_PENDING_BYTES = 1 << 20;

interface Conn {
  pending: string;
  out: Uint8Array[];
  endAfterFlush: boolean;
}

export class SocketSimServer {
  readonly host: string;
  readonly port: number;
  readonly #listener: TCPSocketListener<Conn>;

  constructor(instrument: SimulatedInstrument, options: { host?: string; port?: number } = {}) {
    const term = instrument.queryTerm;
    this.#listener = Bun.listen<Conn>({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      socket: {
        open(s) {
          s.data = { pending: "", out: [], endAfterFlush: false };
          s.setNoDelay?.(true);
        },
        data(s, chunk) {
          const c = s.data;
          // latin1 keeps every byte as one char, so binary payloads survive the split.
          c.pending += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
          const { messages, rest } = splitMessages(c.pending, term);
          c.pending = rest;
          for (const message of messages) {
            const reply = instrument.handle(message);
            if (reply.kind === "data") send(s, reply.bytes);
            else if (reply.kind === "drop") {
              send(s, reply.bytes);
              c.endAfterFlush = true;
              c.pending = "";
              flush(s);
              return;
            }
          }
          if (c.pending.length > MAX_PENDING_BYTES) {
            c.pending = "";
            s.end();
          }
        },
        drain(s) {
          flush(s);
        },
      },
    });
    this.host = this.#listener.hostname;
    this.port = this.#listener.port;
  }

  get resource(): string {
    return `TCPIP0::${this.host}::${this.port}::SOCKET`;
  }

  close(): void {
    this.#listener.stop(true);
  }
}

function send(s: Socket<Conn>, bytes: Uint8Array): void {
  const c = s.data;
  if (c.out.length > 0) {
    c.out.push(bytes);
    return;
  }
  const n = s.write(bytes);
  if (n < bytes.byteLength) c.out.push(bytes.subarray(Math.max(n, 0)));
}

function flush(s: Socket<Conn>): void {
  const c = s.data;
  while (c.out.length > 0) {
    const head = c.out[0]!;
    const n = s.write(head);
    if (n < head.byteLength) {
      c.out[0] = head.subarray(Math.max(n, 0));
      return;
    }
    c.out.shift();
  }
  if (c.endAfterFlush) s.end();
}
