// Messages between the HDF5 writer Worker and the main thread: plain data and typed arrays only.

export type NumericArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Attribute values: strings, finite numbers, booleans (stored as 0/1), or numeric arrays. */
export type AttrValue = string | number | boolean | number[] | NumericArray;

export type ToWriter =
  | { op: "open"; file: number; path: string; attrs: Record<string, AttrValue> }
  /** Appends rows along the first axis; a dataset is created on its first append (chunked, resizable). */
  | { op: "append"; file: number; dataset: string; data: NumericArray; bytes: number }
  | { op: "attrs"; file: number; target: string; attrs: Record<string, AttrValue> }
  /** A scalar string dataset (JSON text of non-numeric values). */
  | { op: "text"; file: number; dataset: string; text: string }
  | { op: "close"; file: number; attrs: Record<string, AttrValue> }
  /**
   * CSV of equally long 1-D datasets of a closed file, one column each, made a slice at a time: `csvOpen`
   * checks the datasets and answers the header line, each `csvSlice` the next rows (`done` with the last),
   * `csvEnd` gives up early. Between slices the worker goes on with the recordings' writes.
   */
  | { op: "csvOpen"; req: number; path: string; datasets: string[]; maxRows: number }
  | { op: "csvSlice"; req: number }
  | { op: "csvEnd"; req: number }
  /** What a file no writer closed holds (a recording cut off by a crash). */
  | { op: "inspect"; req: number; path: string };

export interface DatasetInfo {
  name: string;
  shape: number[];
  dtype: string;
}

export type FromWriter =
  | { type: "ready" }
  /** The file was created; when it could not be, an `error` for it comes instead. */
  | { type: "opened"; file: number }
  /** `data` is the appended array, handed back so the main thread can reuse its memory. */
  | { type: "written"; file: number; bytes: number; data: NumericArray }
  | { type: "error"; file: number; message: string }
  | { type: "closed"; file: number; datasets: DatasetInfo[]; bytes: number }
  | { type: "csv"; req: number; bytes?: Uint8Array; done?: boolean; error?: string }
  | { type: "inspected"; req: number; datasets?: DatasetInfo[]; bytes?: number; error?: string };

/** How often the worker flushes files written since their last flush (the issue asks for at least 1 s). */
export const FLUSH_INTERVAL_MS = 500;
