// What a device's remote methods look like (GET /devices/{id}/methods, daemon.describeMethods): each
// method's parameters with their JSON types, defaults and schemas, and its doc.
import { lookupMethod, publicMethodNames } from "./methods.ts";
import { paramName, paramRequired, planFor, type MethodPlan } from "./methodPlan.ts";

/** One parameter of a remote method, as the wire shows it (the server's ParamInfoSchema). */
export interface ParamInfo {
  name: string;
  /** integer | number | string | boolean | array | object | null | any */
  type: string;
  required: boolean;
  default?: unknown;
  /** The JSON schema the argument is validated against, when declared. */
  schema?: unknown;
}

export interface MethodInfo {
  name: string;
  parameters: ParamInfo[];
  doc?: string;
}

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
