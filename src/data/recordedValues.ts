// What a recording can hold: values as typed arrays (ctx.record's data, a task's return value, a stream's
// payloads), HDF5 attribute values, and the dtype names the catalogue reports.
import { InvalidRequestError } from "../core/errors.ts";
import { json } from "./taskHistory.ts";
import type { AttrValue, NumericArray } from "./writerProtocol.ts";
import { clip } from "../core/clip.ts";

/** A stream payload or a recorded value as a typed array, or null when it is not numeric. */
export function numericPayload(v: unknown): NumericArray | null {
  if (typeof v === "number") return new Float64Array([v]);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as NumericArray;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) return Float64Array.from(v);
  return null;
}

/** ctx.record's data as dataset path → values. */
export function splitData(name: string, data: unknown): [string, NumericArray][] {
  const direct = numericPayload(data);
  if (direct) return [[name, direct]];
  if (data !== null && typeof data === "object" && "x" in data && "y" in data) {
    const x = numericPayload((data as { x: unknown }).x);
    const y = numericPayload((data as { y: unknown }).y);
    if (x && y && x.length === y.length)
      return [
        [`${name}/x`, x],
        [`${name}/y`, y],
      ];
    throw new InvalidRequestError(`record('${name}'): x and y must be numeric arrays of one length`, { name });
  }
  throw new InvalidRequestError(
    `record('${name}'): data must be a number, a numeric array, a typed array or {x, y} (got ${describeType(data)})`,
    { name },
  );
}

/**
 * A task's return value as datasets: numeric arrays become return_value, or return_value/<key> for an
 * object's fields; whatever else there is comes back as `rest`, to be written as JSON.
 */
export function resultParts(result: unknown): { arrays: [string, NumericArray][]; rest: unknown } {
  const direct = numericPayload(result);
  if (direct) return { arrays: [["return_value", direct]], rest: undefined };
  const arrays: [string, NumericArray][] = [];
  let rest: unknown = result;
  if (result !== null && typeof result === "object" && !Array.isArray(result)) {
    const others: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(result)) {
      const arr = typeof v === "number" ? null : numericPayload(v);
      if (arr && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(k)) arrays.push([`return_value/${k}`, arr]);
      else others[k] = v;
    }
    rest = Object.keys(others).length ? others : undefined;
  }
  return { arrays, rest };
}

export function attrValues(attrs: Record<string, unknown>): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_. -]{0,63}$/.test(k))
      throw new InvalidRequestError(`attribute name '${clip(k, 80)}' is not allowed`, { name: clip(k, 80) });
    out[k] =
      typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) ? v : json(v);
  }
  return out;
}

export function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array with non-numbers";
  return typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
}

const DTYPES: Record<string, string> = {
  Float64Array: "float64",
  Float32Array: "float32",
  Int8Array: "int8",
  Int16Array: "int16",
  Int32Array: "int32",
  Uint8Array: "uint8",
  Uint16Array: "uint16",
  Uint32Array: "uint32",
  BigInt64Array: "int64",
  BigUint64Array: "uint64",
};
const H5_DTYPES: Record<string, string> = {
  "<d": "float64",
  "<f": "float32",
  "<b": "int8",
  "<h": "int16",
  "<i": "int32",
  "<q": "int64",
  "<B": "uint8",
  "<H": "uint16",
  "<I": "uint32",
  "<Q": "uint64",
  S: "string",
};
export const dtypeName = (a: NumericArray) => DTYPES[a.constructor.name] ?? a.constructor.name;

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

/**
 * The index of the first value of `data` that a dataset of `dtype` (a dtypeName) cannot hold exactly, or -1.
 * Appends are converted to the dataset's type, which would narrow silently (2.7 → 2 in int16).
 */
export function firstLoss(dtype: string, data: NumericArray): number {
  if (dtypeName(data) === dtype || data.length === 0) return -1;
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  // Typed arrays do not convert between bigints and numbers at all.
  if (big !== (dtype === "int64" || dtype === "uint64")) return 0;
  if (dtype === "float64" && !big) return -1;
  for (let i = 0; i < data.length; i++) if (!fits(dtype, data[i]!)) return i;
  return -1;
}

function fits(dtype: string, v: number | bigint): boolean {
  if (typeof v === "bigint") return dtype === "int64" ? v < 2n ** 63n : v >= 0n;
  if (dtype === "float32") return Number.isNaN(v) || Math.fround(v) === v;
  const range = INT_RANGES[dtype];
  return range !== undefined && Number.isInteger(v) && v >= range[0] && v <= range[1];
}
export const h5TypeName = (t: string) => H5_DTYPES[t] ?? t;
