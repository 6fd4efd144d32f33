// Device and task results as JSON that never fails: whatever a driver returns, the client gets a body.

const MAX_DEPTH = 64;

/**
 * JSON text for any value. Plain data goes straight to JSON.stringify (NaN/±Infinity already become
 * null there); typed arrays become arrays, bigints numbers (or strings, see bigintJson), Map/Set objects/arrays, cycles and
 * over-deep nesting the string "[Circular]" / "[Too deep]", functions and symbols null.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, replacer) ?? "null";
  } catch {
    // BigInt, a cycle or a throwing toJSON: take the careful path.
  }
  return JSON.stringify(jsonSafe(value)) ?? "null";
}

/**
 * A bigint on the wire, the same in results and in streams: a number while it is exact (|n| < 2^53),
 * beyond that its decimal string, so no client ever reads a silently rounded integer.
 */
export function bigintJson(n: bigint): number | string {
  return n <= MAX_EXACT && n >= -MAX_EXACT ? Number(n) : n.toString();
}
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** What plain JSON.stringify gets wrong or throws on, fixed in passing (cycles still throw). */
function replacer(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return bigintJson(v);
  if (v !== null && typeof v === "object") {
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Map || v instanceof Set || v instanceof Error)
      return jsonSafe(v);
  }
  return v;
}

/** A JSON-safe copy of `value` (see toJson). Typed arrays are copied, so also use it before fast paths see them. */
export function jsonSafe(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return bigintJson(value);
    case "string":
    case "boolean":
      return value;
    case "function":
    case "symbol":
      return null;
  }
  const obj = value as object;
  if (depth >= MAX_DEPTH) return "[Too deep]";
  if (seen.has(obj)) return "[Circular]";
  if (ArrayBuffer.isView(obj)) {
    if (obj instanceof DataView) return Array.from(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength));
    const arr = obj as unknown as ArrayLike<number | bigint>;
    return Array.from(arr, (x) => (typeof x === "bigint" ? bigintJson(x) : Number.isFinite(x) ? x : null));
  }
  if (obj instanceof ArrayBuffer) return Array.from(new Uint8Array(obj));
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((v) => jsonSafe(v, depth + 1, seen));
    if (obj instanceof Set) return [...obj].map((v) => jsonSafe(v, depth + 1, seen));
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) out[String(k)] = jsonSafe(v, depth + 1, seen);
      return out;
    }
    if (obj instanceof Error) return { type: obj.name, message: obj.message };
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      try {
        return jsonSafe(toJSON.call(obj), depth + 1, seen);
      } catch {
        return null;
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      let v: unknown;
      try {
        v = (obj as Record<string, unknown>)[k];
      } catch {
        v = null; // a throwing getter
      }
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      out[k] = jsonSafe(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

const JSON_HEADERS = { "content-type": "application/json" };

/** A 200 JSON response whose body is built by toJson. */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(toJson(value), { status, headers: JSON_HEADERS });
}
