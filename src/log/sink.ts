// Where log lines go: a file descriptor or a size-rotated file, written in batches. Lines wait in memory
// at most FLUSH_MS (or until BATCH_BYTES have gathered), so a busy server pays for one write a batch
// instead of one a request; what is still waiting is written at exit.
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/** How long a line may wait before it is written. */
export const FLUSH_MS = 50;
/** A batch this large is written at once (it also bounds the memory lines can take). */
const BATCH_BYTES = 64 * 1024;

export interface LogSink {
  write(line: string): void;
  /** Writes what waits, synchronously. */
  flush(): void;
  close(): void;
}

const open = new Set<LogSink>();
let exitHooked = false;

/** Lines still waiting when the process exits (process.exit included) are written first. */
function flushAtExit(sink: LogSink): void {
  open.add(sink);
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const s of open) s.flush();
  });
}

/**
 * Batches lines for `writeBatch`, encoded into one reused buffer as they come (joining the lines' strings
 * at flush time cost more than the rest of a request's logging); the timer never keeps the process alive.
 */
abstract class BatchingSink implements LogSink {
  private buffer: Buffer | null = null;
  private used = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    flushAtExit(this);
  }

  write(line: string): void {
    const limit = this.batchLimit();
    // At most 3 bytes a UTF-16 unit: a line that might not fit is written after what waits, on its own.
    if (line.length * 3 > limit) {
      this.flush();
      this.guarded(Buffer.from(line));
      return;
    }
    if (this.used + line.length * 3 > limit) this.flush();
    this.buffer ??= Buffer.allocUnsafe(limit);
    this.used += this.buffer.write(line, this.used);
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref?.();
    }
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.used === 0 || this.buffer === null) return;
    const bytes = this.buffer.subarray(0, this.used);
    this.used = 0;
    this.guarded(bytes);
  }

  close(): void {
    this.flush();
    open.delete(this);
  }

  private guarded(bytes: Uint8Array): void {
    try {
      this.writeBatch(bytes);
    } catch {
      // A log that cannot be written (disk full, closed pipe) must not take the server down with it.
    }
  }

  protected batchLimit(): number {
    return BATCH_BYTES;
  }

  /** Must be done with `bytes` when it returns: the buffer is reused. */
  protected abstract writeBatch(bytes: Uint8Array): void;
}

/** stdout (1) or stderr (2). */
export class FdSink extends BatchingSink {
  constructor(private readonly fd: number) {
    super();
  }

  protected writeBatch(bytes: Uint8Array): void {
    writeAll(this.fd, bytes);
  }
}

/**
 * A file that is renamed to FILE.1 (FILE.1 to FILE.2 …, the oldest dropped) before it would grow past
 * `maxBytes`: at most (keep + 1) × maxBytes on disk.
 */
export class RotatingFileSink extends BatchingSink {
  private fd: number;
  private size: number;

  /** Throws (with the OS's reason) when the file cannot be opened for appending. */
  constructor(
    readonly path: string,
    readonly maxBytes: number,
    readonly keep: number,
  ) {
    super();
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
  }

  protected override batchLimit(): number {
    return Math.min(super.batchLimit(), Math.floor(this.maxBytes / 4));
  }

  protected writeBatch(bytes: Uint8Array): void {
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
    writeAll(this.fd, bytes);
    this.size += bytes.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.keep === 0) rmSync(this.path, { force: true });
    else {
      for (let i = this.keep - 1; i >= 1; i--) renameQuietly(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      renameSync(this.path, `${this.path}.1`);
    }
    this.fd = openSync(this.path, "a");
    this.size = 0;
  }

  override close(): void {
    super.close();
    closeSync(this.fd);
  }
}

function renameQuietly(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // not there yet: fewer files than `keep` so far
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}
