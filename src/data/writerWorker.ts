// The HDF5 writer thread: h5wasm is synchronous, so every file operation happens here, never on the
// event loop. It must not import anything that loads the native addon (that crashes a bun Worker).
import { checked } from "./hdf5Errors.ts";
import h5wasm from "h5wasm/node";
import { accessSync, constants, statSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import {
  FLUSH_INTERVAL_MS,
  type AttrValue,
  type DatasetInfo,
  type FromWriter,
  type NumericArray,
  type ToWriter,
} from "./writerProtocol.ts";

declare const self: Worker;

type H5wasm = typeof h5wasm;

interface OpenFile {
  path: string;
  h5: InstanceType<H5wasm["File"]>;
  /** Rows written per dataset (first axis). */
  rows: Map<string, number>;
  dirty: boolean;
  failed: boolean;
}

/** Chunk of the first axis: 64 Ki rows (256 KiB of float32) keeps per-chunk overhead small at MS/s. */
const CHUNK_ROWS = 1 << 16;

const files = new Map<number, OpenFile>();
/** Files whose open failed (id → path): what is sent for them is answered, never written. */
const unopened = new Map<number, string>();
const post = (m: FromWriter) => self.postMessage(m);
const backlog: ToWriter[] = [];
let ready = false;

function setAttrs(
  target: { create_attribute: Function; attrs: Record<string, unknown>; delete_attribute: Function },
  attrs: Record<string, AttrValue>,
): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (k in target.attrs) target.delete_attribute(k);
    if (typeof v === "boolean") target.create_attribute(k, v ? 1 : 0, null, "<b");
    else if (typeof v === "number")
      target.create_attribute(k, v, null, Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? "<q" : "<d");
    else target.create_attribute(k, v as never);
  }
}

function ensureParents(h5: OpenFile["h5"], path: string): void {
  const parts = path.split("/").slice(0, -1);
  let at = "";
  for (const p of parts) {
    at = at ? `${at}/${p}` : p;
    if (!h5.get(at)) h5.create_group(at);
  }
}

function handle(m: ToWriter): void {
  if (m.op === "csvOpen") return csvOpen(m);
  if (m.op === "csvSlice") return csvSlice(m.req);
  if (m.op === "csvEnd") return csvEnd(m.req);
  if (m.op === "inspect") return inspect(m);
  if (m.op === "open") return open(m);
  try {
    fileOp(m);
  } finally {
    // Every append is answered, written or dropped (a file that failed or never opened): the main thread
    // counts these bytes as waiting for the disk until then.
    if (m.op === "append")
      self.postMessage({ type: "written", file: m.file, bytes: m.bytes, data: m.data } satisfies FromWriter, [
        m.data.buffer as ArrayBuffer,
      ]);
  }
}

function open(m: Extract<ToWriter, { op: "open" }>): void {
  try {
    files.set(m.file, {
      path: m.path,
      h5: checked(() => openNew(m.path, m.attrs)),
      rows: new Map(),
      dirty: true,
      failed: false,
    });
    post({ type: "opened", file: m.file });
  } catch (e) {
    unopened.set(m.file, m.path);
    post({ type: "error", file: m.file, message: describe(e, m.path) });
  }
}

function fileOp(m: Exclude<ToWriter, { op: "open" | "csvOpen" | "csvSlice" | "csvEnd" | "inspect" }>): void {
  const f = files.get(m.file);
  if (!f) {
    // A file that never opened is still closed when asked: its recording waits for that answer.
    if (m.op === "close") {
      const path = unopened.get(m.file);
      unopened.delete(m.file);
      post({ type: "closed", file: m.file, datasets: [], bytes: path === undefined ? 0 : sizeOf(path) });
    }
    return;
  }
  if (f.failed && m.op !== "close") return;
  try {
    if (m.op === "append") checked(() => append(f, m.dataset, m.data));
    else if (m.op === "attrs")
      checked(() => setAttrs(m.target === "/" ? f.h5 : (f.h5.get(m.target) as never), m.attrs));
    else if (m.op === "text") {
      checked(() => {
        ensureParents(f.h5, m.dataset);
        if (f.h5.get(m.dataset)) throw new Error(`dataset '${m.dataset}' already exists`);
        f.h5.create_dataset({ name: m.dataset, data: m.text });
      });
    } else if (m.op === "close") {
      close(m.file, f, m.attrs);
      return;
    }
    f.dirty = true;
  } catch (e) {
    f.failed = true;
    post({ type: "error", file: m.file, message: describe(e, f.path) });
  }
}

function openNew(path: string, attrs: Record<string, AttrValue>) {
  const h5 = new h5wasm.File(path, "w");
  try {
    setAttrs(h5 as never, attrs);
    h5.flush();
  } catch (e) {
    try {
      h5.close();
    } catch {
      // the first failure is the one to report
    }
    throw e;
  }
  return h5;
}

function append(f: OpenFile, name: string, data: NumericArray): void {
  const n = data.length;
  const have = f.rows.get(name);
  if (have === undefined) {
    ensureParents(f.h5, name);
    if (f.h5.get(name)) throw new Error(`dataset '${name}' already exists`);
    f.h5.create_dataset({
      name,
      data,
      shape: [n],
      maxshape: [null],
      chunks: [Math.min(CHUNK_ROWS, Math.max(1024, n))],
    });
    f.rows.set(name, n);
    return;
  }
  const ds = f.h5.get(name) as { resize(s: number[]): void; write_slice(r: number[][], d: unknown): void };
  ds.resize([have + n]);
  ds.write_slice([[have, have + n]], data);
  f.rows.set(name, have + n);
}

function close(id: number, f: OpenFile, attrs: Record<string, AttrValue>): void {
  const datasets: DatasetInfo[] = [];
  try {
    if (!f.failed) checked(() => setAttrs(f.h5 as never, attrs));
    datasets.push(...datasetsOf(f.h5));
  } catch (e) {
    post({ type: "error", file: id, message: describe(e, f.path) });
  }
  try {
    checked(() => f.h5.close());
  } catch (e) {
    post({ type: "error", file: id, message: describe(e, f.path) });
  }
  files.delete(id);
  post({ type: "closed", file: id, datasets, bytes: sizeOf(f.path) });
}

function datasetsOf(h5: InstanceType<H5wasm["File"]>): DatasetInfo[] {
  const datasets: DatasetInfo[] = [];
  for (const path of h5.paths()) {
    const e = h5.get(path) as { type?: string; shape?: number[] | null; dtype?: unknown } | null;
    if (e && e.type === "Dataset")
      datasets.push({ name: path.replace(/^\//, ""), shape: e.shape ?? [], dtype: String(e.dtype) });
  }
  return datasets;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // gone or unreadable
  }
}

function inspect(m: Extract<ToWriter, { op: "inspect" }>): void {
  let h5: InstanceType<H5wasm["File"]> | null = null;
  try {
    h5 = new h5wasm.File(m.path, "r");
    post({ type: "inspected", req: m.req, datasets: datasetsOf(h5), bytes: sizeOf(m.path) });
  } catch (e) {
    post({ type: "inspected", req: m.req, error: e instanceof Error ? e.message : String(e) });
  } finally {
    h5?.close();
  }
}

const encoder = new TextEncoder();

/** Rows per CSV slice: about 600 kB of text for two float64 columns, a few ms of the worker's time. */
const CSV_SLICE_ROWS = 1 << 14;

interface CsvExport {
  h5: InstanceType<H5wasm["File"]>;
  datasets: string[];
  rows: number;
  at: number;
}

/** CSV exports under way, by request: each slice is read when the client takes the one before. */
const csvExports = new Map<number, CsvExport>();

type SliceableDataset = {
  type?: string;
  shape?: number[] | null;
  slice(ranges: number[][]): ArrayLike<number | bigint>;
};

function csvOpen(m: Extract<ToWriter, { op: "csvOpen" }>): void {
  let h5: InstanceType<H5wasm["File"]> | null = null;
  try {
    h5 = new h5wasm.File(m.path, "r");
    let rows = -1;
    for (const name of m.datasets) {
      const ds = h5.get(name) as SliceableDataset | null;
      if (!ds || ds.type !== "Dataset" || !ds.shape || ds.shape.length !== 1)
        throw new Error(`'${name}' is not a 1-D dataset`);
      const length = ds.shape[0]!;
      if (length > m.maxRows)
        throw new Error(`'${name}' has ${length} rows; CSV is offered up to ${m.maxRows} (download the HDF5 file)`);
      if (rows >= 0 && length !== rows) throw new Error("the datasets differ in length");
      rows = length;
    }
    const done = rows <= 0;
    if (!done) csvExports.set(m.req, { h5, datasets: m.datasets, rows, at: 0 });
    else h5.close();
    post({ type: "csv", req: m.req, bytes: encoder.encode(`${m.datasets.join(",")}\n`), done });
  } catch (e) {
    h5?.close();
    post({ type: "csv", req: m.req, error: e instanceof Error ? e.message : String(e) });
  }
}

function csvSlice(req: number): void {
  const x = csvExports.get(req);
  if (!x) return post({ type: "csv", req, error: "the CSV export has ended" });
  try {
    const end = Math.min(x.rows, x.at + CSV_SLICE_ROWS);
    const cols = x.datasets.map((name) => (x.h5.get(name) as SliceableDataset).slice([[x.at, end]]));
    let text = "";
    for (let i = 0; i < end - x.at; i++) {
      text += String(cols[0]![i]);
      for (let c = 1; c < cols.length; c++) text += `,${cols[c]![i]}`;
      text += "\n";
    }
    x.at = end;
    const done = end >= x.rows;
    if (done) csvEnd(req);
    // Encoded here and moved, not copied: the main thread only passes the bytes on.
    const bytes = encoder.encode(text);
    self.postMessage({ type: "csv", req, bytes, done } satisfies FromWriter, [bytes.buffer]);
  } catch (e) {
    csvEnd(req);
    post({ type: "csv", req, error: e instanceof Error ? e.message : String(e) });
  }
}

function csvEnd(req: number): void {
  const x = csvExports.get(req);
  if (!x) return;
  csvExports.delete(req);
  x.h5.close();
}

/** h5wasm's errors say little; the OS's view of the folder (full, read-only) is added when it explains it. */
function describe(e: unknown, path: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  const dir = dirname(path);
  const causes: string[] = [];
  try {
    const fs = statfsSync(dir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < 1 << 20) causes.push(`the disk is full (${free} bytes free in ${dir})`);
  } catch {
    // no figures: say nothing about space
  }
  try {
    if (!statSync(dir).isDirectory()) causes.push(`${dir} is not a folder`);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    causes.push(`${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? "EACCES"})`);
  }
  return `writing ${path} failed: ${msg}${causes.length ? `; ${causes.join("; ")}` : ""}`;
}

setInterval(() => {
  for (const [id, f] of files) {
    if (!f.dirty || f.failed) continue;
    f.dirty = false;
    try {
      checked(() => f.h5.flush());
    } catch (e) {
      f.failed = true;
      post({ type: "error", file: id, message: describe(e, f.path) });
    }
  }
}, FLUSH_INTERVAL_MS);

self.onmessage = (ev: MessageEvent<ToWriter>) => {
  if (!ready) backlog.push(ev.data);
  else handle(ev.data);
};

// No top-level await: the executable is built as bytecode, which needs none in any module.
void h5wasm.ready.then(() => {
  ready = true;
  for (const m of backlog.splice(0)) handle(m);
  post({ type: "ready" });
});
