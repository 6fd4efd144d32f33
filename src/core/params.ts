// Constructor params checked against a device or task class's optional static `params` schema, before
// the class is constructed: a typo in a lab configuration or a request is an error, not a default.
import { compileSchema, explainError, isSchema, pointerKeys, readablePath, type CompiledSchema } from "./schema.ts";

export interface ParamsProblem {
  /** Where, as a reader writes it: `params.wavelength`, `params.resonance.center`. */
  path: string;
  message: string;
  /** For an unknown key: the keys the schema knows at that level. */
  known?: string[];
}

const compiled = new WeakMap<Function, CompiledSchema | null>();

/**
 * The class's compiled `static params` schema (once per class), or null when it declares none.
 * Throws TypeError when it declares something that is not a typebox schema.
 */
export function paramsSchemaOf(cls: Function): CompiledSchema | null {
  if (compiled.has(cls)) return compiled.get(cls)!;
  const declared = (cls as { params?: unknown }).params;
  let out: CompiledSchema | null = null;
  if (declared !== undefined) {
    out = isSchema(declared) ? compileSchema(declared) : null;
    if (!out)
      throw new TypeError(
        "static params must be a typebox schema, e.g. t.Object({ … }, { additionalProperties: false })",
      );
  }
  compiled.set(cls, out);
  return out;
}

/** What is wrong with `params` for `cls` (empty when they fit, or when the class declares no schema). */
export function paramsProblems(cls: Function, params: unknown, max = 20): ParamsProblem[] {
  return paramsProblemsAt(cls, params, max).map(({ keys: _, ...p }) => p);
}

/** As paramsProblems, each problem also with the keys leading to it below `params` (to find it in a file). */
export function paramsProblemsAt(cls: Function, params: unknown, max = 20): Array<ParamsProblem & { keys: string[] }> {
  const schema = paramsSchemaOf(cls);
  if (!schema || schema.check(params)) return [];
  return schema.errors(params, max).map((e) => {
    const { message, known } = explainError(e, "parameter");
    const keys = pointerKeys(e.path);
    const path = readablePath("params", e.path);
    return known ? { path, message, known, keys } : { path, message, keys };
  });
}

/** The first problem, and how many more: `params.wavelenght: unknown parameter (…) (and 1 more)`. */
export function describeProblems(problems: ParamsProblem[]): string {
  const [first] = problems;
  if (!first) return "";
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return `${first.path}: ${first.message}${more}`;
}
