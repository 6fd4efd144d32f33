// What a NetSession needs from a network interface: the raw socket, VXI-11 and HiSLIP transports
// implement it; the session frames messages and recovers from errors on top of it.
import type { WorkerBlock } from "./fdReader.ts";
import type { RxBuffer } from "./rxBuffer.ts";
import type { FrameReader } from "./tcpLink.ts";

export interface NetTransport {
  readonly rx: RxBuffer;
  readonly isOpen: boolean;
  /** e.g. "SOCKET", "INSTR" */
  readonly interfaceType: string;
  /** The interface marks a message's end (VXI-11 END, HiSLIP DataEnd); a raw socket does not. */
  readonly marksEnd?: boolean;
  open(deadline: number): Promise<void>;
  /** Ends the connection politely where the protocol has a goodbye (VXI-11 destroy_link). */
  close(): void;
  /** Fails a wait in progress now (the instrument is being closed under it). */
  abort(): void;
  /** Synchronous (undefined) when the whole message went out at once. */
  write(data: Uint8Array | string, deadline: number): Promise<void> | void;
  /** Appends at least one byte (or an END mark) to rx. */
  fill(deadline: number, want: number): Promise<void>;
  /** Where the transport frames in its data callback: hands `reader` each input until it takes its message. */
  readFrame?(reader: FrameReader, deadline: number): void;
  /** Whether a native worker can read a whole answer here now (SOCKET): see TcpLink.readBlockOnWorker. */
  workerReady?(): boolean;
  readBlockOnWorker?(dest: Uint8Array, own: boolean, term: Uint8Array, deadline: number): Promise<WorkerBlock> | null;
  /** Fills dest[have..] completely, first from rx; resolves whether the interface marked END at its last byte.
   * `own`: dest is a private buffer of this process (not a caller's `into`). */
  readInto(dest: Uint8Array, have: number, deadline: number, own?: boolean): Promise<boolean>;
  /** A request timed out: its answer may still come. Called before the clear the next request makes. */
  timedOut?(): void;
  /** Device clear where the interface has one; sockets reconnect after a timeout, else drop pending input. */
  clear(deadline: number): Promise<void>;
  /** Drops input that already arrived and nobody asked for. */
  discardInput(): Promise<void> | void;
  lock(deadline: number, timeoutMs: number, shared?: string): Promise<void>;
  remoteLocal?(deadline: number, code: number): Promise<void>;
  unlock(deadline: number): Promise<void>;
  /** A read consumed everything received: no answer nobody asked for is known to be on its way. */
  settled?(): void;
  /** Delivers the instrument's service requests to `onSrq` from now on (and after reconnecting). */
  enableSrq?(deadline: number, onSrq: (statusByte?: number) => void): Promise<void>;
  /** The status byte, read as a serial poll does (clearing RQS): VXI-11 device_readstb. */
  statusByte?(deadline: number): Promise<number>;
  /** The session is closed for good: release what outlives a connection (the SRQ listener). */
  dispose?(): void;
}
