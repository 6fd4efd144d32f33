// What a device's remote methods look like (GET /devices/{id}/methods) and how a /call's kwargs join its
// args as the positional arguments of a JS method (the daemon validates them against the method's schemas).
import { lookupMethod, publicMethodNames } from "../core/methods.ts";
import { paramName, paramRequired, planFor, type MethodPlan } from "../core/methodPlan.ts";
import { invalid } from "./errors.ts";
import type { MethodInfo, ParamInfo } from "./schemas.ts";

const JSON_TYPES = new Set(["integer", "number", "string", "boolean", "array", "object", "null"]);

/**
 * Exactly the methods POST /call accepts, in alphabetical order: lifecycle methods have their own routes
 * and are not listed; a class with `static remote` lists those names only.
 */
export function describeMethods(instance: object): MethodInfo[] {
  return publicMethodNames(instance)
    .sort()
    .map((name) => {
      const found = lookupMethod(instance, name);
      const plan = planFor(instance, name, (found as { fn: Function }).fn);
      const count = Math.max(plan.params.length, plan.schemas?.length ?? 0);
      const parameters: ParamInfo[] = [];
      for (let i = 0; i < count; i++) parameters.push(paramInfo(plan, i));
      const info: MethodInfo = { name, parameters };
      if (plan.doc) info.doc = plan.doc;
      return info;
    });
}

function paramInfo(plan: MethodPlan, i: number): ParamInfo {
  const p = plan.params[i];
  const schema = plan.schemas?.[i] as Record<string, unknown> | undefined;
  const required = paramRequired(plan, i);
  const info: ParamInfo = { name: paramName(plan, i), type: jsonType(schema), required };
  if (!required) {
    const d = schema && Object.hasOwn(schema, "default") ? schema.default : p?.default;
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
 * and a name given twice are 400; the schemas are checked by the daemon's call (422 ValidationError).
 */
export function resolveArguments(
  instance: object,
  method: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
): unknown[] {
  const keys = Object.keys(kwargs);
  // The common case, positional arguments only, costs nothing more.
  if (keys.length === 0) return args;
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
      throw invalid(
        `Unknown keyword argument(s) for method '${method}': ${unknown.map((k) => `'${k.slice(0, 80)}'`).join(", ")}`,
        { method, unknown: unknown.slice(0, 20).map((k) => k.slice(0, 80)), parameters: known },
      );
    }
  }
  return out;
}
