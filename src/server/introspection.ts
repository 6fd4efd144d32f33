// What a device's remote methods look like (GET /devices/{id}/methods) and how a /call's args and kwargs
// become the positional arguments of a JS method: from the class's static typebox `methods` metadata when
// present, else from the parameter list in the function's source (names and defaults, type "any").
import { isPlainObject } from "../core/ids.ts";
import { LIFECYCLE_METHODS, lookupMethod, publicMethodNames } from "../core/methods.ts";
import { compileSchema, explainError, isOptionalSchema, readablePath, type CompiledSchema } from "../core/schema.ts";
import { HttpError, invalid } from "./errors.ts";
import type { MethodInfo, ParamInfo } from "./schemas.ts";

/** One entry of a device class's static `methods` map. */
export interface MethodMeta {
  /** Positional schemas (names read from the method's source), or schemas by parameter name, in order. */
  params?: unknown[] | Record<string, unknown>;
  doc?: string;
}

interface ParsedParam {
  name: string;
  rest: boolean;
  hasDefault: boolean;
  default?: unknown;
}

interface MethodPlan {
  params: ParsedParam[];
  /** As checked: Elysia's string forms (t.Integer's `"5"`) unwrapped to the JSON type. */
  schemas: unknown[] | null;
  validators: (CompiledSchema | null)[];
  doc?: string;
}

const JSON_TYPES = new Set(["integer", "number", "string", "boolean", "array", "object", "null"]);
const MAX_REPORTED_ERRORS = 20;

/** Per device class and method name; classes are fixed once registered, so plans never go stale. */
const plans = new WeakMap<Function, Map<string, MethodPlan>>();

function metaOf(instance: object, name: string): MethodMeta | null {
  const methods = (instance.constructor as { methods?: Record<string, MethodMeta> } | undefined)?.methods;
  if (!methods || typeof methods !== "object" || !Object.hasOwn(methods, name)) return null;
  const m = methods[name];
  return m && typeof m === "object" ? m : null;
}

function planFor(instance: object, name: string, fn: Function): MethodPlan {
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
    schemas: schemas && schemas.map((s, i) => validators[i]?.schema ?? s),
    validators,
    doc: typeof meta?.doc === "string" ? meta.doc : undefined,
  };
  byName.set(name, plan);
  return plan;
}

/** Public methods (and lifecycle methods, flagged as such) in alphabetical order. */
export function describeMethods(instance: object): MethodInfo[] {
  const names = new Set(publicMethodNames(instance));
  const lifecycle = new Map<string, Function>();
  for (const name of LIFECYCLE_METHODS) {
    const fn = methodValue(instance, name);
    if (fn) {
      lifecycle.set(name, fn);
      names.add(name);
    }
  }
  return [...names].sort().map((name) => {
    const found = lookupMethod(instance, name);
    const fn = found.ok ? found.fn : lifecycle.get(name)!;
    const plan = planFor(instance, name, fn);
    const count = Math.max(plan.params.length, plan.schemas?.length ?? 0);
    const parameters: ParamInfo[] = [];
    for (let i = 0; i < count; i++) parameters.push(paramInfo(plan, i));
    const info: MethodInfo = { name, parameters };
    if (plan.doc) info.doc = plan.doc;
    if (LIFECYCLE_METHODS.has(name)) {
      info.doc = `${info.doc ? `${info.doc} ` : ""}(Lifecycle method: use its own route, not /call.)`;
    }
    return info;
  });
}

/** A method found through descriptors, so a getter (which could throw or have effects) is never run. */
function methodValue(instance: object, name: string): Function | null {
  for (let o: object | null = instance; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d) return typeof d.value === "function" ? d.value : null;
  }
  return null;
}

function paramInfo(plan: MethodPlan, i: number): ParamInfo {
  const p = plan.params[i];
  const schema = plan.schemas?.[i] as Record<string, unknown> | undefined;
  const name = p?.name ?? (typeof schema?.title === "string" ? schema.title : `arg${i}`);
  const schemaDefault = schema && Object.hasOwn(schema, "default");
  const required = !(p?.hasDefault || p?.rest || schemaDefault || isOptionalSchema(schema));
  const info: ParamInfo = { name, type: jsonType(schema), required };
  if (!required) {
    const d = schemaDefault ? schema!.default : p?.default;
    if (d !== undefined) info.default = d;
  }
  if (schema) info.schema = schema;
  return info;
}

/** The JSON type a schema stands for; a union whose members all share one type (literals) has that type. */
function jsonType(schema: Record<string, unknown> | undefined): string {
  if (!schema) return "any";
  if (typeof schema.type === "string") return JSON_TYPES.has(schema.type) ? schema.type : "any";
  const members = Array.isArray(schema.anyOf) ? (schema.anyOf as Record<string, unknown>[]) : [];
  const types = new Set(members.map(jsonType));
  return types.size === 1 ? [...types][0]! : "any";
}

/**
 * The positional arguments for a /call: `args` first, then `kwargs` by parameter name. Unknown names
 * and a name given twice are 400; with a schema, each argument is validated (422 with the errors).
 */
export function resolveArguments(instance: object, method: string, args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  // The common case, no names and no schemas, costs nothing more.
  if (keys.length === 0 && !(instance.constructor as { methods?: unknown } | undefined)?.methods) return args;
  const found = lookupMethod(instance, method);
  if (!found.ok) return args; // the daemon reports why with its own error
  const plan = planFor(instance, method, found.fn);
  let out = args;
  if (keys.length > 0) {
    out = [...args];
    const unknown: string[] = [];
    for (const key of keys) {
      const index = plan.params.findIndex((p) => p.name === key && !p.rest);
      if (index < 0) {
        unknown.push(key);
        continue;
      }
      if (index < args.length) {
        throw invalid(`Method '${method}' got multiple values for argument '${key}'`, { method, argument: key });
      }
      out[index] = kwargs[key];
    }
    if (unknown.length > 0) {
      const known = plan.params.filter((p) => !p.rest).map((p) => p.name);
      throw invalid(`Unknown keyword argument(s) for method '${method}': ${unknown.map((k) => `'${k.slice(0, 80)}'`).join(", ")}`,
        { method, unknown: unknown.slice(0, 20).map((k) => k.slice(0, 80)), parameters: known });
    }
  }
  if (plan.schemas) validate(plan, method, out);
  return out;
}

function validate(plan: MethodPlan, method: string, args: unknown[]): void {
  const schemas = plan.schemas!;
  const errors: { path: string; message: string }[] = [];
  const restAt = plan.params.findIndex((p) => p.rest);
  if (restAt < 0 && args.length > Math.max(schemas.length, plan.params.length)) {
    errors.push({ path: `/${schemas.length}`, message: `expects at most ${schemas.length} arguments, got ${args.length}` });
  }
  for (let i = 0; i < schemas.length; i++) {
    const v = plan.validators[i];
    if (!v) continue;
    const value = args[i];
    if (value === undefined) {
      if (paramInfo(plan, i).required) errors.push({ path: `/${i}`, message: `argument '${paramInfo(plan, i).name}' is required` });
      continue;
    }
    if (v.check(value)) {
      // An author's own Type.Transform hands the method the decoded value.
      if (v.decode) args[i] = v.decode(value);
      continue;
    }
    for (const e of v.errors(value, MAX_REPORTED_ERRORS - errors.length)) {
      const { message } = explainError(e);
      errors.push({ path: `/${i}${e.path}`, message: `${readablePath(paramInfo(plan, i).name, e.path)}: ${message}` });
    }
    if (errors.length >= MAX_REPORTED_ERRORS) break;
  }
  if (errors.length > 0) {
    throw new HttpError(422, "ValidationError",
      `Invalid arguments for method '${method}': ${errors[0]!.message}`, { method, errors });
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
  return splitTopLevel(list).map((raw, i) => parseOne(raw.trim(), i)).filter((p): p is ParsedParam => p !== null);
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
    return src.slice(0, arrow).replace(/^async\s+/, "").trim();
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
