// Device payloads as JSON text: typed arrays become arrays (or, with encoding=base64, {dtype, data}),
// NaN/±Infinity become null (JSON.stringify already does that for numbers), bigints as in results
// (bigintJson: a number while exact, else a string).
import { bigintJson } from "../json.ts";

export type PayloadEncoding = "json" | "base64";

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** numpy's dtype names, so a Python client can `np.frombuffer(b64decode(data), dtype)` (little-endian). */
function dtypeOf(a: TypedArray): string {
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof BigUint64Array) return "uint64";
  return "uint8"; // Uint8Array, Uint8ClampedArray
}

function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function typedToArray(a: TypedArray): unknown[] {
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) return Array.from(a as ArrayLike<bigint>, bigintJson);
  return Array.from(a as ArrayLike<number>);
}

function base64Of(a: ArrayBufferView): { dtype: string; data: string } {
  return {
    dtype: isTypedArray(a) ? dtypeOf(a) : "uint8",
    data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64"),
  };
}

/** Deep enough for any sane payload; stops cycles before the stack does. */
const MAX_DEPTH = 64;

/**
 * The payload as JSON text. Plain numbers/arrays/objects go straight to JSON.stringify; only values it
 * would get wrong (typed arrays, bigints, Map/Set, DataView) are rewritten, copy-on-write.
 * Throws on what JSON cannot hold (cycles, deeper than MAX_DEPTH).
 */
export function encodePayload(payload: unknown, encoding: PayloadEncoding): string {
  if (isTypedArray(payload)) {
    return encoding === "base64" ? JSON.stringify(base64Of(payload)) : JSON.stringify(typedToArray(payload));
  }
  const out = JSON.stringify(normalise(payload, encoding, 0));
  // JSON.stringify returns undefined for undefined/functions/symbols: the wire needs a value.
  return out === undefined ? "null" : out;
}

function normalise(v: unknown, enc: PayloadEncoding, depth: number): unknown {
  if (v === null || typeof v !== "object") {
    if (typeof v === "bigint") return bigintJson(v);
    return v;
  }
  if (depth > MAX_DEPTH) throw new TypeError(`payload nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
  if (ArrayBuffer.isView(v)) {
    if (enc === "base64") return base64Of(v);
    return isTypedArray(v) ? typedToArray(v) : typedToArray(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  if (v instanceof ArrayBuffer) return normalise(new Uint8Array(v), enc, depth + 1);
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      // Numbers and strings are the common case in big arrays: skip them without a call.
      if (item === null || (typeof item !== "object" && typeof item !== "bigint")) continue;
      const n = normalise(item, enc, depth + 1);
      if (n !== item) (copy ??= v.slice())[i] = n;
    }
    return copy ?? v;
  }
  if (v instanceof Set) return normalise([...v], enc, depth + 1);
  if (v instanceof Map) return normalise(Object.fromEntries(v), enc, depth + 1);
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return v; // Date and friends
  let copy: Record<string, unknown> | null = null;
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    const item = (v as Record<string, unknown>)[key];
    if (item === null || (typeof item !== "object" && typeof item !== "bigint")) continue;
    const n = normalise(item, enc, depth + 1);
    if (n !== item) (copy ??= { ...(v as Record<string, unknown>) })[key] = n;
  }
  return copy ?? v;
}
