// Follows a server's log file (the child writes its stdout and stderr there, so it keeps running and
// logging when the launcher dies) into a LogBuffer: inotify wakes it on writes, nothing runs when idle.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, watch, type FSWatcher } from "node:fs";
import type { LogBuffer } from "./logBuffer.ts";

/** Past this size the file is emptied once read: the buffer holds the last lines; the disk must not fill. */
export const MAX_LOG_FILE_BYTES = 8 << 20;
/** A reader that started late (adoption) takes only the file's tail. */
const START_TAIL_BYTES = 256 << 10;

export class LogTail {
  private fd: number;
  private offset = 0;
  private watcher: FSWatcher | null = null;
  private readonly chunk = Buffer.alloc(64 << 10);
  private readonly decoder = new TextDecoder();
  private readonly reported = new Set<string>();

  constructor(
    readonly file: string,
    private readonly buffer: LogBuffer,
    opts: { fromEnd?: boolean } = {},
  ) {
    this.fd = openSync(file, "r+");
    if (opts.fromEnd) this.offset = Math.max(0, fstatSync(this.fd).size - START_TAIL_BYTES);
    try {
      this.watcher = watch(file, () => this.pump());
    } catch {
      this.watcher = null; // no inotify: pump() on each health tick still reads it
    }
    this.pump();
  }

  /** Reads everything written since the last call. */
  pump(): void {
    if (this.fd < 0) return;
    let size: number;
    try {
      size = fstatSync(this.fd).size;
    } catch {
      return;
    }
    if (size < this.offset) this.offset = 0; // emptied by someone else
    // Called from a file watcher and the health timer: a read error must end neither (nor the launcher);
    // what was not read is read on the next call.
    try {
      while (this.offset < size) {
        const n = readSync(this.fd, this.chunk, 0, Math.min(this.chunk.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.buffer.write(this.decoder.decode(this.chunk.subarray(0, n), { stream: true }));
      }
    } catch (e) {
      this.failed("read", e);
      return;
    }
    // The child appends (O_APPEND), so after a truncation its next write lands at the new end, 0.
    if (this.offset > MAX_LOG_FILE_BYTES) {
      try {
        ftruncateSync(this.fd, 0);
        this.offset = 0;
      } catch (e) {
        this.failed("empty", e); // it grows on; tried again on the next call
      }
    }
  }

  /** Said once per kind of failure, not on every pump. */
  private failed(what: string, e: unknown): void {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    console.error(`labdaemon launcher: cannot ${what} ${this.file}: ${(e as Error).message}`);
  }

  close(): void {
    if (this.fd < 0) return;
    this.pump();
    this.buffer.flush();
    this.watcher?.close();
    closeSync(this.fd);
    this.fd = -1;
  }
}
