// What only the drivers can say of a JSON or YAML profile: whether each device and task type exists and
// whether a device's params fit its driver. serve finds these when it builds the lab; the editor's
// check finds them here, in every profile at once (a data file cannot add plugin types).
import { builtinDevices, builtinTasks } from "../../drivers/index.ts";
import { paramsProblemsAt } from "../core/params.ts";
import type { ConfigPath, PathProblem } from "./configError.ts";
import { isObject } from "./configProfile.ts";

export function driverProblems(profile: unknown, at: ConfigPath): PathProblem[] {
  if (!isObject(profile)) return [];
  const problems: PathProblem[] = [];
  if (Array.isArray(profile.tasks))
    for (const [i, name] of profile.tasks.entries())
      if (typeof name === "string" && !Object.hasOwn(builtinTasks, name))
        problems.push({
          path: [...at, "tasks", i],
          message: `names an unknown task type '${name}' (built-in: ${Object.keys(builtinTasks).join(", ")})`,
        });
  const devices = isObject(profile.devices) ? Object.entries(profile.devices) : [];
  for (const [id, d] of devices) {
    if (!isObject(d) || typeof d.type !== "string") continue;
    const path = [...at, "devices", id];
    if (!Object.hasOwn(builtinDevices, d.type)) {
      const known = Object.keys(builtinDevices).join(", ");
      problems.push({ path: [...path, "type"], message: `names an unknown device type '${d.type}' (known: ${known})` });
      continue;
    }
    if (d.params !== undefined && !isObject(d.params)) continue; // the schema's problem
    for (const p of paramsProblemsAt(builtinDevices[d.type]!, d.params ?? {}))
      problems.push({
        path: [...path, "params", ...p.keys.map((k) => (/^\d+$/.test(k) ? Number(k) : k))],
        message: p.message,
      });
  }
  return problems;
}
