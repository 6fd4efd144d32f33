// How a call's keyword arguments join its positional ones as the arguments of a JS method, by the
// parameter names of the method's plan (its schemas' names, else its source's); the same for POST /call
// and for daemon.call(id, method, { args, kwargs }).
import { InvalidRequestError } from "./errors.ts";
import { planFor } from "./methodPlan.ts";
import { clip } from "./clip.ts";

/**
 * The positional arguments: `args` first, then `kwargs` by parameter name. Unknown names and a name
 * given twice are InvalidRequest; the schemas are checked afterwards by the call (ValidationError).
 */
export function bindArguments(
  deviceId: string,
  instance: object,
  method: string,
  fn: Function,
  args: unknown[],
  kwargs: Record<string, unknown>,
): unknown[] {
  const keys = Object.keys(kwargs);
  // The common case, positional arguments only, costs nothing more.
  if (keys.length === 0) return args;
  const plan = planFor(instance, method, fn);
  const out = [...args];
  const unknown: string[] = [];
  for (const key of keys) {
    const index = plan.params.findIndex((p) => p.name === key && !p.rest);
    if (index < 0) {
      unknown.push(key);
      continue;
    }
    if (index < args.length) {
      throw new InvalidRequestError(`Method '${method}' got multiple values for argument '${key}'`, {
        device_id: deviceId,
        method,
        argument: key,
      });
    }
    out[index] = kwargs[key];
  }
  if (unknown.length > 0) {
    const known = plan.params.filter((p) => !p.rest).map((p) => p.name);
    throw new InvalidRequestError(
      `Unknown keyword argument(s) for method '${method}': ${unknown.map((k) => `'${clip(k, 80)}'`).join(", ")}`,
      { device_id: deviceId, method, unknown: unknown.slice(0, 20).map((k) => clip(k, 80)), parameters: known },
    );
  }
  return out;
}
