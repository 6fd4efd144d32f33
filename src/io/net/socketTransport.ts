// TCPIP::host::port::SOCKET on the event loop: a raw SCPI byte stream. It has no END, no device clear
// (clear drops pending input; after a timeout, it reconnects) and no locking.
import { NetIoError } from "../ioErrors.ts";
import type { WorkerBlock } from "./fdReader.ts";
import type { NetTransport } from "./netTransport.ts";
import { type FrameReader, TcpLink } from "./tcpLink.ts";

export class SocketTransport implements NetTransport {
  readonly interfaceType = "SOCKET";
  readonly #link: TcpLink;
  #strayInput = false;
  /** A request timed out: the instrument may hold a fragment of a command, or answer it late. */
  #cutShort = false;

  /** `maxUnread`: input nobody asked for beyond this pauses the socket (the kernel holds the rest). */
  constructor(host: string, port: number, maxUnread: number) {
    this.#link = new TcpLink(host, port, maxUnread);
  }

  get rx() {
    return this.#link.rx;
  }

  get isOpen(): boolean {
    return this.#link.isOpen;
  }

  open(deadline: number): Promise<void> {
    this.#cutShort = false;
    return this.#link.connect(deadline);
  }

  close(): void {
    this.#link.close();
  }

  abort(): void {
    this.#link.close(
      new NetIoError("connection", `connection to ${this.#link.where} closed while waiting for it`, 107, "ENOTCONN"),
    );
  }

  write(data: Uint8Array | string, deadline: number): Promise<void> | void {
    // Anything written may be answered whether or not a read follows (see discardInput).
    this.#strayInput = true;
    const rest = this.#link.write(data, deadline);
    return rest?.catch(this.#writeFailed);
  }

  readonly #writeFailed = (e: unknown): never => {
    if (e instanceof NetIoError && e.kind === "timeout") this.#cutShort = true;
    throw e;
  };

  timedOut(): void {
    this.#cutShort = true;
  }

  fill(deadline: number): Promise<void> {
    return this.#link.waitData(deadline);
  }

  readFrame(reader: FrameReader, deadline: number): void {
    this.#link.read(reader, deadline);
  }

  workerReady(): boolean {
    return this.#link.workerReady;
  }

  readBlockOnWorker(dest: Uint8Array, own: boolean, term: Uint8Array, deadline: number): Promise<WorkerBlock> | null {
    return this.#link.readBlockOnWorker(dest, own, term, deadline);
  }

  async readInto(dest: Uint8Array, have: number, deadline: number, own = false): Promise<boolean> {
    await this.#link.readInto(dest, have, deadline, own);
    return false;
  }

  // A raw socket has no device clear, and no way to tell a late answer from the next one: an answer to a
  // request that timed out can arrive any time after (a slow measurement), and would be taken as the
  // answer to the next query. After a timeout only a new connection is sure to be rid of it (and of the
  // fragment a command cut short leaves in the instrument's parser, which belongs to the connection).
  // Otherwise (clear() called by the caller) dropping pending input is enough.
  async clear(deadline: number): Promise<void> {
    if (this.#cutShort) {
      this.#link.close();
      this.#strayInput = false;
      await this.#link.connect(deadline);
      this.#cutShort = false;
      return;
    }
    await this.discardInput();
  }

  // An answer nobody read may still be on its way into this process (in the kernel, its data event not
  // yet run): two turns of the event loop (bun polls sockets on the second) deliver what the kernel
  // holds before it is dropped. Paid only
  // when something was written since input was last known to be consumed (a write not followed by a
  // read, a read that failed), never in a plain query loop.
  discardInput(): Promise<void> | void {
    if (!this.#strayInput) return this.#link.discardInput();
    return (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#strayInput = false;
      this.#link.discardInput();
    })();
  }

  /** Called by the session when a read consumed the whole of what was written before it. */
  settled(): void {
    this.#strayInput = false;
  }

  lock(): Promise<void> {
    return Promise.reject(new NetIoError("unsupported", "this interface has no locking"));
  }

  unlock(): Promise<void> {
    return Promise.reject(new NetIoError("unsupported", "this interface has no locking"));
  }
}
