// The addon's FdReader, which reads the rest of a large block from a socket bun's event loop has paused
// straight into the caller's buffer on a native worker (native/io/binding/fd_read_binding.cc).
import { native } from "../native.ts";

/**
 * A read with at least this many bytes still to come pauses the socket and lets a native worker `recv`
 * them straight into the destination: bun would hand each chunk over in a new buffer to be copied again,
 * which costs more than the worker's one extra wake-up from about this size on (bench/visa.ts, 1 MB rows).
 */
export const NATIVE_READ_ABOVE = 256 << 10;

/** What a worker found when it read an answer expected to be a block that fits in dest (readBlock). */
export type WorkerBlock =
  /** dest starts with the block's `length` bytes; termRead: the termination after it was already there
   * and is consumed */
  | { filled: true; length: number; termRead: boolean }
  /** a block too long for dest: its header is consumed, none of its data */
  | { filled?: undefined; length: number }
  /** not a definite-length block: the bytes the worker took (at most 11), to be framed the general way */
  | { filled?: undefined; length?: undefined; consumed: Uint8Array };

/**
 * The addon's reader. `own`: dest cannot be detached while the reader's thread writes it (this process's
 * private buffer, or a caller's blockArray), so the thread writes it directly; otherwise (a caller's `into`) the thread fills a scratch buffer and the JS thread copies it
 * over at the end, so a caller detaching its array meanwhile cannot have freed memory written.
 */
export interface FdReader {
  read(fd: number, dest: Uint8Array, offset: number, timeoutMs: number, where: string, own: boolean): Promise<void>;
  readBlock(
    fd: number,
    dest: Uint8Array,
    timeoutMs: number,
    where: string,
    own: boolean,
    term?: Uint8Array,
  ): Promise<WorkerBlock>;
  interrupt(): void;
  /** Ends the reader's thread. */
  close(): void;
}
type FdReaderClass = new () => FdReader;

// The addon's FdReader where it has one (not on Windows, not before the addon is built: then large reads
// stay on the event loop). Looked up once.
let fdReaderClass: FdReaderClass | null | undefined;
export function fdReaders(): FdReaderClass | null {
  if (fdReaderClass === undefined) {
    try {
      fdReaderClass = process.platform === "win32" ? null : ((native.FdReader as FdReaderClass | undefined) ?? null);
    } catch {
      fdReaderClass = null;
    }
  }
  return fdReaderClass;
}
