// Typebox schemas as the daemon checks them (device method arguments, constructor params): Elysia's
// string forms unwrapped to the JSON type they stand for, compiled once, failures worded for people.
import { Kind, OptionalKind, TransformKind, type TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { HasTransform, ValueErrorType, type ValueError } from "@sinclair/typebox/value";
import { clip } from "./clip.ts";

/**
 * Elysia's `t.Integer`, `t.Numeric`, `t.BooleanString`, `t.ObjectString` and `t.ArrayString` are a
 * transforming union of the real type and a string form of it (`{type:"string",format:"integer"}`),
 * made for query strings. Over JSON that union accepts `"5"` for an integer and reports a wrong value
 * as "Expected union value"; unwrapped, the integer is checked as an integer.
 */
const STRING_FORMS: ReadonlySet<unknown> = new Set(["integer", "numeric", "boolean", "ObjectString", "ArrayString"]);
const ANNOTATIONS = ["title", "description", "default", "examples"] as const;
/** Keys whose value maps names to schemas. */
const SCHEMA_MAPS: ReadonlySet<string> = new Set(["properties", "patternProperties", "$defs"]);

export function isSchema(v: unknown): v is TSchema {
  return v !== null && typeof v === "object" && Kind in v;
}

/** A schema marked `t.Optional(…)`. */
export function isOptionalSchema(v: unknown): boolean {
  return isSchema(v) && OptionalKind in v;
}

/** `schema` with every Elysia string form replaced by its JSON member; the same object when there is none. */
export function plainSchema<T>(schema: T): T {
  if (!isSchema(schema)) return schema;
  const s = (unwrapStringForm(schema) ?? schema) as unknown as Record<string | symbol, unknown>;
  let out: Record<string | symbol, unknown> | null = s === schema ? null : s;
  for (const key of Object.keys(s)) {
    const v = s[key];
    let next = v;
    if (isSchema(v)) next = plainSchema(v);
    else if (Array.isArray(v)) next = mapIfChanged(v, plainSchema);
    else if (SCHEMA_MAPS.has(key) && v !== null && typeof v === "object") {
      const entries = Object.entries(v);
      const mapped = mapIfChanged(
        entries.map(([, x]) => x),
        plainSchema,
      );
      if (mapped !== null) next = Object.fromEntries(entries.map(([k], i) => [k, mapped[i]]));
    }
    if (next !== v && next !== null) {
      out ??= { ...s };
      out[key] = next;
    }
  }
  return (out ?? schema) as T;
}

function mapIfChanged<T>(items: T[], fn: (x: T) => T): T[] | null {
  const mapped = items.map(fn);
  return mapped.some((x, i) => x !== items[i]) ? mapped : null;
}

function unwrapStringForm(s: TSchema): TSchema | null {
  if (!(TransformKind in s) || s[Kind] !== "Union" || !Array.isArray(s.anyOf)) return null;
  const members = s.anyOf as TSchema[];
  const forms = members.filter((m) => m.type === "string" && STRING_FORMS.has(m.format));
  const real = members.filter((m) => !forms.includes(m));
  if (forms.length !== 1 || real.length !== 1) return null;
  const out: Record<string | symbol, unknown> = { ...real[0]! };
  for (const k of ANNOTATIONS) if (Object.hasOwn(s, k) && !Object.hasOwn(out, k)) out[k] = s[k];
  if (OptionalKind in s) out[OptionalKind] = s[OptionalKind];
  return out as unknown as TSchema;
}

export interface CompiledSchema {
  /** The schema as checked (string forms unwrapped): what documentation should show. */
  readonly schema: TSchema;
  check(value: unknown): boolean;
  /** At most `max` failures, in typebox's order. */
  errors(value: unknown, max?: number): ValueError[];
  /** Present only when the schema transforms values (a `Type.Transform` of the author's own). */
  readonly decode: ((value: unknown) => unknown) | null;
}

/** Compiles a typebox schema; null for anything typebox cannot compile (documented, not enforced). */
export function compileSchema(schema: unknown): CompiledSchema | null {
  if (!isSchema(schema)) return null;
  const plain = plainSchema(schema);
  let checker: ReturnType<typeof TypeCompiler.Compile>;
  try {
    checker = TypeCompiler.Compile(plain);
  } catch {
    return null;
  }
  return {
    schema: plain,
    check: (v) => checker.Check(v),
    errors: (v, max = 20) => {
      const out: ValueError[] = [];
      for (const e of checker.Errors(v)) {
        out.push(e);
        if (out.length >= max) break;
      }
      return out;
    },
    decode: HasTransform(plain, []) ? (v) => checker.Decode(v) : null,
  };
}

/**
 * One failure in words, without its path. `noun` names what an object's keys are to the reader
 * ("parameter" for constructor params, "property" inside a method argument).
 */
export function explainError(e: ValueError, noun = "property"): { message: string; known?: string[] } {
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((e.schema as { properties?: object }).properties ?? {});
      const key = lastKey(e.path);
      const guess = closest(key, known);
      const hint =
        known.length === 0
          ? `no ${noun}s are accepted here`
          : `${guess ? `did you mean '${guess}'? ` : ""}known: ${known.join(", ")}`;
      return { message: `unknown ${noun} (${hint})`, known };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { message: `required ${noun} is missing` };
    case ValueErrorType.Union: {
      const options = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? [];
      if (options.length > 0 && options.every((o) => Object.hasOwn(o, "const"))) {
        return {
          message: `Expected one of ${options.map((o) => JSON.stringify(o.const)).join(", ")}, got ${preview(e.value)}`,
        };
      }
      return { message: e.message };
    }
    default:
      return { message: e.message };
  }
}

/** A JSON pointer (`/resonance/center`, `/2`) as a reader's path after `root`: `params.resonance.center`, `args[2]`. */
export function readablePath(root: string, pointer: string): string {
  return pointerKeys(pointer).reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : `${acc}.${part}`), root);
}

/** A JSON pointer's keys: "/resonance/depth" → ["resonance", "depth"]; "" → []. */
export function pointerKeys(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .split("/")
    .slice(1)
    .map((raw) => raw.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function lastKey(pointer: string): string {
  return pointerKeys(pointer).at(-1) ?? "";
}

function preview(v: unknown): string {
  try {
    const s = JSON.stringify(v) ?? String(v);
    return clip(s, 60);
  } catch {
    return typeof v;
  }
}

/** The known name a typo most likely meant: edit distance at most 2 (1 for short names), else null. */
function closest(name: string, known: string[]): string | null {
  let best: string | null = null;
  let bestDistance = name.length <= 4 ? 2 : 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit ("wavelenght"). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return Infinity;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
