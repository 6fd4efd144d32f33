// TCPIP::host::port::SOCKET on the event loop: a raw SCPI byte stream. It has no END, no device clear
// (clear drops pending input) and no locking.
import { NetIoError } from "../ioErrors.ts";
import type { NetTransport } from "./netTransport.ts";
import { type FrameReader, TcpLink } from "./tcpLink.ts";

export class SocketTransport implements NetTransport {
  readonly interfaceType = "SOCKET";
  readonly #link: TcpLink;
  #strayInput = false;

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
    return this.#link.write(data, deadline);
  }

  fill(deadline: number): Promise<void> {
    return this.#link.waitData(deadline);
  }

  readFrame(reader: FrameReader, deadline: number): void {
    this.#link.read(reader, deadline);
  }

  async readInto(dest: Uint8Array, have: number, deadline: number): Promise<boolean> {
    await this.#link.readInto(dest, have, deadline);
    return false;
  }

  async clear(): Promise<void> {
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
