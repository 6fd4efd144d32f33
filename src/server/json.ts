// The one JSON encoder for what drivers and tasks hand over: call results, task results, stored error
// contexts, MQTT messages and SSE payloads. Whatever the value, the client gets a body, the same everywhere.

/** How byte arrays travel: `json` as arrays of numbers, `base64` as {dtype, data} (a stream's ?encoding=). */
export type PayloadEncoding = "json" | "base64";

/** Deep enough for any sane value; a deeper branch is cut (and a cycle stopped) before the stack is. */
const MAX_DEPTH = 64;
export const CIRCULAR = "[Circular]";
export const TOO_DEEP = "[Too deep]";

/**
 * JSON text for any value. Plain data goes to JSON.stringify unchanged and uncopied (NaN/±Infinity become
 * null there); only what it would get wrong or throw on is rewritten, copy-on-write: typed arrays, DataView
 * and ArrayBuffer become arrays (or {dtype, data} with `base64`), bigints numbers (or strings, see
 * bigintJson), Map/Set objects/arrays, an Error {type, message}, an invalid Date null, a throwing getter or
 * toJSON null; a reference back to an enclosing object becomes "[Circular]" and a branch nested deeper than
 * 64 levels "[Too deep]". Functions and symbols are dropped from objects and null in arrays, as in JSON.
 */
export function toJson(value: unknown, encoding: PayloadEncoding = "json"): string {
  return JSON.stringify(normalise(value, encoding, [])) ?? "null";
}

/** A JSON-safe deep copy of `value`: what toJson writes, read back. */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(toJson(value));
}

/**
 * A bigint on the wire, the same in results and in streams: a number while it is exact (|n| < 2^53),
 * beyond that its decimal string, so no client ever reads a silently rounded integer.
 */
export function bigintJson(n: bigint): number | string {
  return n <= MAX_EXACT && n >= -MAX_EXACT ? Number(n) : n.toString();
}
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

const JSON_HEADERS = { "content-type": "application/json" };

/** A 200 JSON response whose body is built by toJson. */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(toJson(value), { status, headers: JSON_HEADERS });
}

/** `v` as JSON.stringify can write it faithfully; `v` itself when it already can. `path`: the enclosing objects. */
function normalise(v: unknown, enc: PayloadEncoding, path: object[]): unknown {
  if (typeof v === "bigint") return bigintJson(v);
  if (v === null || typeof v !== "object") return v;
  if (path.includes(v)) return CIRCULAR;
  if (path.length >= MAX_DEPTH) return TOO_DEEP;
  if (ArrayBuffer.isView(v)) return enc === "base64" ? base64Of(v) : bytesToArray(v);
  if (v instanceof ArrayBuffer) return enc === "base64" ? base64Of(new Uint8Array(v)) : Array.from(new Uint8Array(v));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Error) return { type: v.name, message: v.message };
  path.push(v);
  try {
    if (Array.isArray(v)) return normaliseArray(v, enc, path);
    if (v instanceof Set) return normaliseArray([...v], enc, path);
    if (v instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of v) out[String(k)] = normalise(item, enc, path);
      return out;
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      let replaced: unknown;
      try {
        replaced = toJSON.call(v);
      } catch {
        return null;
      }
      return normalise(replaced, enc, path);
    }
    return normaliseObject(v as Record<string, unknown>, enc, path);
  } finally {
    path.pop();
  }
}

function normaliseArray(v: unknown[], enc: PayloadEncoding, path: object[]): unknown[] {
  let copy: unknown[] | null = null;
  for (let i = 0; i < v.length; i++) {
    const item = v[i];
    // Numbers and strings are the common case in big arrays: skip them without a call.
    if (item === null || (typeof item !== "object" && typeof item !== "bigint")) continue;
    const n = normalise(item, enc, path);
    if (n !== item) (copy ??= v.slice())[i] = n;
  }
  return copy ?? v;
}

function normaliseObject(v: Record<string, unknown>, enc: PayloadEncoding, path: object[]): unknown {
  const keys = Object.keys(v);
  let copy: Record<string, unknown> | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    let item: unknown;
    let n: unknown;
    try {
      item = v[key];
      n = item === null || (typeof item !== "object" && typeof item !== "bigint") ? item : normalise(item, enc, path);
    } catch {
      item = undefined;
      n = null; // a throwing getter
    }
    if (n === item && copy === null) continue;
    if (copy === null) {
      // Copy what came before by the values already read, so no getter runs twice.
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]!] = safeRead(v, keys[j]!);
    }
    copy[key] = n;
  }
  return copy ?? v;
}

function safeRead(v: Record<string, unknown>, key: string): unknown {
  try {
    return v[key];
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- byte arrays

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

/** The view's own bytes, not its whole buffer. A DataView is bytes (uint8). */
function base64Of(a: ArrayBufferView): { dtype: string; data: string } {
  return {
    dtype: a instanceof DataView ? "uint8" : dtypeOf(a as TypedArray),
    data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64"),
  };
}

/** A typed array's numbers (NaN/±Infinity become null when written), a DataView's bytes. */
function bytesToArray(a: ArrayBufferView): unknown[] {
  if (a instanceof DataView) return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) return Array.from(a as ArrayLike<bigint>, bigintJson);
  return Array.from(a as unknown as ArrayLike<number>);
}
