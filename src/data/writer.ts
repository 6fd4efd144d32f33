// The main thread's side of the HDF5 writer: stages appends per dataset and hands them to the writer
// Worker in batches (one copy per sample, transferred, never cloned), so the event loop never writes a file.
import type { AttrValue, DatasetInfo, FromWriter, NumericArray, ToWriter } from "./writerProtocol.ts";

/** Staged data is handed over at least this often, so the worker's flush holds what was received. */
const HANDOFF_MS = 100;
/** A staging buffer is handed over once it holds this many bytes. */
const STAGE_BYTES = 4 << 20;
/** A CSV download whose reader takes nothing for this long is ended (its file and export slot freed). */
export const CSV_STALL_MS = 60_000;
/** Written buffers kept for reuse, per sample type. */
const MAX_SPARES = 8;

type ArrayCtor = { new (n: number): NumericArray; BYTES_PER_ELEMENT: number };

/** Elements of a staging buffer for `n`: a power of two from 1024, at most STAGE_BYTES. */
function stageLength(ctor: ArrayCtor, n: number): number {
  const most = STAGE_BYTES / ctor.BYTES_PER_ELEMENT;
  return Math.min(most, Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(n, 1)))));
}

interface Stage {
  ctor: ArrayCtor;
  buf: NumericArray;
  used: number;
}

interface FileState {
  stages: Map<string, Stage>;
  onError: (message: string) => void;
  closed: ((r: { datasets: DatasetInfo[]; bytes: number }) => void) | null;
  failed: boolean;
  /** Bytes handed to the worker for this file and not yet answered. */
  inFlight: number;
  /** Settles once the worker created the file: null, or why it could not. */
  opened: (error: string | null) => void;
}

export class H5Writer {
  private readonly worker: Worker;
  private readonly files = new Map<number, FileState>();
  private nextId = 1;
  private timer: ReturnType<typeof setInterval>;
  /** Bytes handed to the worker and not yet written: how far behind the disk is. */
  backlogBytes = 0;
  /** Bytes of the staging buffers of open files (their capacity, used or not). */
  stagedCapacity = 0;
  private readonly ready: Promise<void>;
  /** Answers awaited from the worker (CSV, inspections), by request number. */
  private readonly requests = new Map<number, (m: Extract<FromWriter, { req: number }>) => void>();
  private nextReq = 1;

  constructor() {
    this.worker = new Worker(workerUrl());
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    this.worker.onmessage = (ev: MessageEvent<FromWriter>) => {
      const m = ev.data;
      if (m.type === "ready") return markReady();
      if (m.type === "csv" || m.type === "inspected") {
        this.requests.get(m.req)?.(m);
        this.requests.delete(m.req);
        return;
      }
      const f = this.files.get(m.file);
      if (m.type === "opened") {
        f?.opened(null);
      } else if (m.type === "written") {
        // A file's bytes leave the backlog here, or all at once when it closes (see "closed").
        if (f) {
          f.inFlight -= m.bytes;
          this.backlogBytes -= m.bytes;
        }
        this.recycle(m.data);
      } else if (m.type === "error" && f && !f.failed) {
        f.failed = true;
        f.onError(m.message);
        f.opened(m.message);
      } else if (m.type === "closed" && f) {
        this.files.delete(m.file);
        // Whatever of this file the worker did not answer (sent after the close) is no longer waited for.
        this.backlogBytes -= f.inFlight;
        for (const st of f.stages.values()) this.stagedCapacity -= st.buf.byteLength;
        f.closed?.({ datasets: m.datasets, bytes: m.bytes });
      }
    };
    this.worker.onerror = (e) => console.error("labdaemon: the HDF5 writer thread failed:", e.message);
    this.timer = setInterval(() => this.handOffAll(), HANDOFF_MS);
    this.timer.unref?.();
    // Held until h5wasm has loaded: a start-up waiting for it must keep the process alive.
    void this.ready.then(() => (this.worker as { unref?: () => void }).unref?.());
  }

  /** Resolves once h5wasm has loaded in the worker (messages sent before are queued there). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * Opens (truncates) `path`; `onError` is called once if opening or any later operation on it fails.
   * `opened` settles when the worker has tried: null once the file exists, else the error.
   */
  open(
    path: string,
    attrs: Record<string, AttrValue>,
    onError: (message: string) => void,
  ): { file: number; opened: Promise<string | null> } {
    const file = this.nextId++;
    let opened!: (error: string | null) => void;
    const result = new Promise<string | null>((r) => (opened = r));
    this.files.set(file, { stages: new Map(), onError, closed: null, failed: false, inFlight: 0, opened });
    this.send({ op: "open", file, path, attrs });
    return { file, opened: result };
  }

  /** Appends `data` to `dataset` (created on first use with the type of `data`; later data is converted to it). */
  append(file: number, dataset: string, data: NumericArray): void {
    const f = this.files.get(file);
    if (!f || f.failed || f.closed) return; // closing: nothing more gets into the file
    let s = f.stages.get(dataset);
    if (!s) {
      // Small at first and grown as data comes: a task recording a thousand names of a few values each
      // must not reserve a full staging buffer for each.
      const ctor = data.constructor as ArrayCtor;
      s = { ctor, buf: new ctor(stageLength(ctor, data.length)), used: 0 };
      f.stages.set(dataset, s);
      this.stagedCapacity += s.buf.byteLength;
    }
    let from = 0;
    while (from < data.length) {
      const want = stageLength(s.ctor, s.used + data.length - from);
      if (want > s.buf.length) {
        const grown = new s.ctor(want);
        (grown as Float64Array).set(s.buf.subarray(0, s.used) as Float64Array);
        this.stagedCapacity += grown.byteLength - s.buf.byteLength;
        s.buf = grown;
      }
      const room = s.buf.length - s.used;
      const n = Math.min(room, data.length - from);
      const part = from === 0 && n === data.length ? data : (data as unknown as NumericArray).subarray(from, from + n);
      (s.buf as Float64Array).set(part as Float64Array, s.used);
      s.used += n;
      from += n;
      if (s.used === s.buf.length) this.handOff(file, f, dataset, s);
    }
  }

  setAttrs(file: number, target: string, attrs: Record<string, AttrValue>): void {
    this.handOffFile(file);
    this.send({ op: "attrs", file, target, attrs });
  }

  text(file: number, dataset: string, text: string): void {
    this.send({ op: "text", file, dataset, text });
  }

  /** Hands over what is staged, sets the final attributes and closes; resolves with what the file holds. */
  close(file: number, attrs: Record<string, AttrValue>): Promise<{ datasets: DatasetInfo[]; bytes: number }> {
    const f = this.files.get(file);
    if (!f) return Promise.resolve({ datasets: [], bytes: 0 });
    this.handOffFile(file);
    const done = new Promise<{ datasets: DatasetInfo[]; bytes: number }>((r) => (f.closed = r));
    this.send({ op: "close", file, attrs });
    return done;
  }

  /**
   * CSV of 1-D datasets of equal length from a closed file: resolves once the writer thread has checked
   * them (rejects naming the problem) with a stream whose slices the worker reads from the file only as
   * the reader takes them, between the recordings' writes: neither the whole text nor a slow client holds
   * memory or the recordings up. A reader that takes nothing for `stallMs` ends it with an error.
   * `onEnd` runs once, however the stream ends (read to the end, cancelled, failed, stalled).
   */
  async csv(
    path: string,
    datasets: string[],
    maxRows: number,
    opts: { stallMs?: number; onEnd?: () => void } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const req = this.nextReq++;
    const stallMs = opts.stallMs ?? CSV_STALL_MS;
    let ended = false;
    let stall: ReturnType<typeof setTimeout> | undefined;
    const end = (tellWorker: boolean) => {
      if (ended) return;
      ended = true;
      clearTimeout(stall);
      if (tellWorker) this.send({ op: "csvEnd", req });
      opts.onEnd?.();
    };
    let header: { bytes: Uint8Array; done: boolean };
    try {
      header = await this.csvAsk({ op: "csvOpen", req, path, datasets, maxRows });
    } catch (e) {
      end(false);
      throw e;
    }
    const watch = (c: ReadableStreamDefaultController<Uint8Array>) => {
      stall = setTimeout(() => {
        end(true);
        c.error(new Error(`the CSV reader took nothing for ${stallMs} ms`));
      }, stallMs);
    };
    return new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          c.enqueue(header.bytes);
          if (header.done) {
            end(false);
            c.close();
          } else {
            watch(c);
          }
        },
        pull: async (c) => {
          if (ended) return;
          clearTimeout(stall);
          let slice: { bytes: Uint8Array; done: boolean };
          try {
            slice = await this.csvAsk({ op: "csvSlice", req });
          } catch (e) {
            end(false); // the worker ended it (or stopped)
            c.error(e);
            return;
          }
          if (ended) return; // cancelled meanwhile
          if (slice.bytes.byteLength > 0) c.enqueue(slice.bytes);
          if (slice.done) {
            end(false);
            c.close();
          } else {
            watch(c);
          }
        },
        cancel: () => end(true),
      },
      { highWaterMark: 0 },
    );
  }

  private csvAsk(m: Extract<ToWriter, { req: number }>): Promise<{ bytes: Uint8Array; done: boolean }> {
    return new Promise((resolve, reject) => {
      this.requests.set(m.req, (r) =>
        r.error !== undefined || r.type !== "csv"
          ? reject(new Error(r.error ?? "no answer"))
          : resolve({ bytes: r.bytes ?? new Uint8Array(0), done: r.done === true }),
      );
      this.send(m);
    });
  }

  /** The datasets and size of a file no writer has open (one a crash left behind), read on the worker. */
  inspect(path: string): Promise<{ datasets: DatasetInfo[]; bytes: number }> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.requests.set(req, (r) =>
        r.error !== undefined || r.type !== "inspected"
          ? reject(new Error(r.error ?? "no answer"))
          : resolve({ datasets: r.datasets ?? [], bytes: r.bytes ?? 0 }),
      );
      this.send({ op: "inspect", req, path });
    });
  }

  /** Stops the worker at once (files not closed keep what was flushed). */
  terminate(): void {
    clearInterval(this.timer);
    this.worker.terminate();
    // A download or an inspection waiting for the worker is told, rather than left waiting for ever.
    for (const [req, answer] of this.requests) answer({ type: "csv", req, error: "the writer thread has stopped" });
    this.requests.clear();
  }

  private handOffAll(): void {
    for (const id of this.files.keys()) this.handOffFile(id);
  }

  private handOffFile(file: number): void {
    const f = this.files.get(file);
    if (!f) return;
    for (const [name, s] of f.stages) if (s.used > 0) this.handOff(file, f, name, s);
  }

  private handOff(file: number, f: FileState, dataset: string, s: Stage): void {
    const data = s.used === s.buf.length ? s.buf : s.buf.slice(0, s.used);
    const bytes = data.byteLength;
    this.backlogBytes += bytes;
    f.inFlight += bytes;
    // A full buffer is transferred and replaced (by one the worker handed back, when there is one); a
    // partial one was copied above and is reused.
    if (data === s.buf) s.buf = this.spare(s.ctor, s.buf.length);
    s.used = 0;
    this.worker.postMessage({ op: "append", file, dataset, data, bytes } satisfies ToWriter, [
      data.buffer as ArrayBuffer,
    ]);
  }

  /** Full staging buffers the worker has written, by type: reused instead of allocating 4 MiB each time. */
  private readonly spares = new Map<Function, NumericArray[]>();

  private recycle(data: NumericArray): void {
    if (data.byteLength !== STAGE_BYTES) return; // a partial copy, not a staging buffer
    const list = this.spares.get(data.constructor) ?? [];
    if (list.length < MAX_SPARES) list.push(data);
    this.spares.set(data.constructor, list);
  }

  private spare(ctor: ArrayCtor, length: number): NumericArray {
    const list = this.spares.get(ctor);
    return list?.length && length * ctor.BYTES_PER_ELEMENT === STAGE_BYTES ? list.pop()! : new ctor(length);
  }

  private send(m: ToWriter): void {
    this.worker.postMessage(m);
  }
}

/**
 * From source, the file beside this one; inside the executable, the entry point that build gave it
 * (tools/compile.ts lists it), named by its path below src/, the entry points' common folder.
 */
function workerUrl(): string {
  // import.meta.url is fixed at build time; Bun.main tells whether this runs from the executable.
  if (Bun.main.includes("$bunfs") || Bun.main.includes("~BUN")) return "./data/writerWorker.ts";
  return new URL("./writerWorker.ts", import.meta.url).href;
}
