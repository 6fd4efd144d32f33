// A device method's plan: its parameter names and defaults (from the class's static typebox `methods`
// when present, else read from the function's source by paramSource.ts) and the compiled validators that every call
// through the daemon — the proxy in-process and POST /call alike — is checked against.
import { isPlainObject } from "./ids.ts";
import { ValidationError } from "./errors.ts";
import { parseParameters, type ParsedParam } from "./paramSource.ts";
import { compileSchema, explainError, isOptionalSchema, readablePath, type CompiledSchema } from "./schema.ts";

/** One entry of a device class's static `methods` map. */
export interface MethodMeta {
  /** Positional schemas (names read from the method's source), or schemas by parameter name, in order. */
  params?: unknown[] | Record<string, unknown>;
  doc?: string;
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
