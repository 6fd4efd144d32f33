// A value checked against a typebox schema, its failures turned into a person's words at a path: the
// schema node's own `errorMessage` when it has one, else a plain sentence for the kind of failure.
import type { TSchema } from "@sinclair/typebox";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";
import type { ConfigPath, PathProblem } from "./configError.ts";

/** Enough to fix a file in one pass; a file with more is not worth listing in full. */
export const MAX_PROBLEMS = 100;

/** Every failure of `value` against `schema`, one per path, in the schema's order, under `at`. */
export function schemaProblems(schema: TSchema, value: unknown, at: ConfigPath = []): PathProblem[] {
  const out: PathProblem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = [...at, ...pointerPath(e.path, value)];
    const key = JSON.stringify(path);
    if (seen.has(key)) continue; // a value failing several ways gets its node's one message
    seen.add(key);
    out.push({ path, message: wordsFor(e) });
    if (out.length >= MAX_PROBLEMS) break;
  }
  return out;
}

/** "/devices/l1/0" → ["devices", "l1", 0]: an index where the value there is a list. */
function pointerPath(pointer: string, value: unknown): Array<string | number> {
  if (pointer === "") return [];
  const out: Array<string | number> = [];
  let here: unknown = value;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const index = Array.isArray(here) && /^(0|[1-9]\d*)$/.test(seg);
    out.push(index ? Number(seg) : seg);
    here = typeof here === "object" && here !== null ? (here as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function wordsFor(e: ValueError): string {
  const schema = e.schema as TSchema & { errorMessage?: string; properties?: Record<string, unknown> };
  // An unknown key is reported with the object's schema: say which keys it knows.
  if (e.type === ValueErrorType.ObjectAdditionalProperties)
    return `unknown key (expected one of: ${Object.keys(schema.properties ?? {}).join(", ")})`;
  if (typeof schema.errorMessage === "string") return schema.errorMessage;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return "is required";
    case ValueErrorType.Object:
      return "must be an object (a mapping)";
    case ValueErrorType.String:
      return "must be a string";
    case ValueErrorType.StringMinLength:
      return "must not be empty";
    case ValueErrorType.Boolean:
      return "must be true or false";
    case ValueErrorType.Array:
      return "must be a list";
    case ValueErrorType.Integer:
      return "must be an integer";
    case ValueErrorType.Number:
      return "must be a number";
    case ValueErrorType.Function:
      return "must be a function";
    default:
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
  }
}
