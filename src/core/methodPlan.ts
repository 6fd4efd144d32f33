// A device method's plan: its parameter names and defaults (from the class's static typebox `methods`
// when present, else read from the function's source) and the compiled validators that every call
// through the daemon — the proxy in-process and POST /call alike — is checked against.
import { isPlainObject } from "./ids.ts";
import { ValidationError } from "./errors.ts";
import { compileSchema, explainError, isOptionalSchema, readablePath, type CompiledSchema } from "./schema.ts";

/** One entry of a device class's static `methods` map. */
export interface MethodMeta {
  /** Positional schemas (names read from the method's source), or schemas by parameter name, in order. */
  params?: unknown[] | Record<string, unknown>;
  doc?: string;
}

export interface ParsedParam {
  name: string;
  rest: boolean;
  hasDefault: boolean;
  default?: unknown;
}

export interface MethodPlan {
  params: ParsedParam[];
  /** As checked: Elysia's string forms (t.Integer's `"5"`) unwrapped to the JSON type. */
  schemas: unknown[] | null;
  validators: (CompiledSchema | null)[];
  doc?: string;
}

const MAX_REPORTED_ERRORS = 20;

/** Per device class and method name; classes are fixed once registered, so plans never go stale. */
const plans = new WeakMap<Function, Map<string, MethodPlan>>();

function metaOf(instance: object, name: string): MethodMeta | null {
  const methods = (instance.constructor as { methods?: Record<string, MethodMeta> } | undefined)?.methods;
  if (!methods || typeof methods !== "object" || !Object.hasOwn(methods, name)) return null;
  const m = methods[name];
  return m && typeof m === "object" ? m : null;
}

export function planFor(instance: object, name: string, fn: Function): MethodPlan {
  const cls = (instance.constructor ?? Object) as Function;
  let byName = plans.get(cls);
  if (!byName) plans.set(cls, (byName = new Map()));
  let plan = byName.get(name);
  if (plan) return plan;
  const meta = metaOf(instance, name);
  const parsed = parseParameters(fn);
  let schemas: unknown[] | null = null;
  let params = parsed;
  if (Array.isArray(meta?.params)) {
    schemas = meta!.params;
  } else if (isPlainObject(meta?.params)) {
    // `{ wavelength_nm: t.Number(), unit: t.String({ default: "nm" }) }`: names survive minification.
    const entries = Object.entries(meta!.params);
    schemas = entries.map(([, schema]) => schema);
    params = entries.map(([pname], i) => ({ ...(parsed[i] ?? { rest: false, hasDefault: false }), name: pname }));
  }
  // Anything typebox cannot compile is documented, not enforced.
  const validators = (schemas ?? []).map((s) => compileSchema(s));
  plan = {
    params,
    schemas: schemas ? schemas.map((s, i) => validators[i]?.schema ?? s) : null,
    validators,
    doc: typeof meta?.doc === "string" ? meta.doc : undefined,
  };
  byName.set(name, plan);
  return plan;
}

/** The parameter's name: from the source or metadata, else the schema's title, else `arg<i>`. */
export function paramName(plan: MethodPlan, i: number): string {
  const schema = plan.schemas?.[i] as Record<string, unknown> | undefined;
  return plan.params[i]?.name ?? (typeof schema?.title === "string" ? schema.title : `arg${i}`);
}

/** False when the parameter has a default (source or schema), is a rest parameter or an optional schema. */
export function paramRequired(plan: MethodPlan, i: number): boolean {
  const p = plan.params[i];
  const schema = plan.schemas?.[i] as Record<string, unknown> | undefined;
  const schemaDefault = schema !== undefined && Object.hasOwn(schema, "default");
  return !(p?.hasDefault || p?.rest || schemaDefault || isOptionalSchema(schema));
}

/**
 * Checks `args` against the method's schemas when its class declares them (decoding a Type.Transform in
 * place); throws ValidationError listing what is wrong. A method without schemas costs one map lookup.
 */
export function validateArguments(
  instance: object,
  method: string,
  fn: Function,
  args: unknown[],
  deviceId?: string,
): void {
  if (!(instance.constructor as { methods?: unknown } | undefined)?.methods) return;
  const plan = planFor(instance, method, fn);
  if (plan.schemas) validate(plan, method, args, deviceId);
}

function validate(plan: MethodPlan, method: string, args: unknown[], deviceId?: string): void {
  const schemas = plan.schemas!;
  const errors: { path: string; message: string }[] = [];
  const restAt = plan.params.findIndex((p) => p.rest);
  if (restAt < 0 && args.length > Math.max(schemas.length, plan.params.length)) {
    errors.push({
      path: `/${schemas.length}`,
      message: `expects at most ${schemas.length} arguments, got ${args.length}`,
    });
  }
  for (let i = 0; i < schemas.length; i++) {
    const v = plan.validators[i];
    if (!v) continue;
    const value = args[i];
    if (value === undefined) {
      if (paramRequired(plan, i))
        errors.push({ path: `/${i}`, message: `argument '${paramName(plan, i)}' is required` });
      continue;
    }
    if (v.check(value)) {
      // An author's own Type.Transform hands the method the decoded value.
      if (v.decode) args[i] = v.decode(value);
      continue;
    }
    for (const e of v.errors(value, MAX_REPORTED_ERRORS - errors.length)) {
      const { message } = explainError(e);
      errors.push({ path: `/${i}${e.path}`, message: `${readablePath(paramName(plan, i), e.path)}: ${message}` });
    }
    if (errors.length >= MAX_REPORTED_ERRORS) break;
  }
  if (errors.length > 0) {
    throw new ValidationError(`Invalid arguments for method '${method}': ${errors[0]!.message}`, {
      ...(deviceId ? { device_id: deviceId } : {}),
      method,
      errors,
    });
  }
}

// ---------------------------------------------------------------- parameter lists from source

/** Names and literal defaults of a function's parameters, read from its source text. */
export function parseParameters(fn: Function): ParsedParam[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return [];
  }
  const list = parameterListText(stripComments(src));
  if (list === null) return [];
  return splitTopLevel(list)
    .map((raw, i) => parseOne(raw.trim(), i))
    .filter((p): p is ParsedParam => p !== null);
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/**
 * Walks `text` from `from`, skipping string literals, and calls `visit` with each character outside them
 * and the bracket depth after it; stops when `visit` returns true. Returns the stop index or -1.
 */
function scan(text: string, from: number, visit: (c: string, i: number, depth: number) => boolean | void): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    if (visit(c, i, depth)) return i;
  }
  return -1;
}

/** The text between the first `(` and its matching `)`; a bare arrow parameter `x => …` too. */
function parameterListText(src: string): string | null {
  const open = src.indexOf("(");
  const arrow = src.indexOf("=>");
  if (arrow >= 0 && (open < 0 || arrow < open)) {
    return src
      .slice(0, arrow)
      .replace(/^async\s+/, "")
      .trim();
  }
  if (open < 0) return null;
  const close = scan(src, open, (c, _i, depth) => depth === 0 && c === ")");
  return close < 0 ? null : src.slice(open + 1, close);
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scan(list, 0, (c, i, depth) => {
    if (c === "," && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  });
  parts.push(list.slice(start));
  return parts.filter((p) => p.trim().length > 0);
}

function parseOne(raw: string, index: number): ParsedParam | null {
  if (!raw) return null;
  const rest = raw.startsWith("...");
  const body = rest ? raw.slice(3).trim() : raw;
  const eq = topLevelEquals(body);
  const target = (eq < 0 ? body : body.slice(0, eq)).trim();
  // Destructured parameters have no single name.
  const name = /^[A-Za-z_$][\w$]*$/.test(target) ? target : `arg${index}`;
  if (eq < 0) return { name, rest, hasDefault: false };
  return { name, rest, hasDefault: true, default: literal(body.slice(eq + 1).trim()) };
}

function topLevelEquals(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "=" && depth === 0 && s[i + 1] !== ">" && s[i + 1] !== "=") return i;
  }
  return -1;
}

/** A default written as a JSON-ish literal becomes that value; any other expression, its source text. */
function literal(text: string): unknown {
  if (text === "undefined" || text === "void 0") return null;
  // Bun's transpiler rewrites boolean literals in the source it keeps.
  if (text === "!0") return true;
  if (text === "!1") return false;
  if (/^'(?:[^'\\]|\\.)*'$/.test(text)) {
    try {
      return JSON.parse(`"${text.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`);
    } catch {
      return text.slice(1, -1);
    }
  }
  try {
    const v = JSON.parse(text);
    if (v === null || ["number", "string", "boolean"].includes(typeof v)) return v;
  } catch {
    // not JSON
  }
  return text;
}
