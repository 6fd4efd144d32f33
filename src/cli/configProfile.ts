// Which profile a configuration file gives, checked against the schema and filled in (defaults, `cors` as a
// list); and every problem a file has, for an editor that shows them all at once.
import type { ConfigPath, Fail, PathProblem } from "./configError.ts";
import {
  CODE_ONLY_KEYS,
  DataProfileSchema,
  type DeviceConfig,
  type LabConfig,
  type LabConfigInput,
  ModuleProfileSchema,
  ProfilesShellSchema,
} from "./configSchema.ts";
import { schemaProblems } from "./schemaProblems.ts";

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const NOT_AN_OBJECT = "a lab configuration must be an object (a mapping)";

/** Problems of the file's outer shape: one profile, or `configs` (and `default`) holding several. */
function shellProblems(raw: unknown): PathProblem[] {
  if (!isObject(raw)) return [{ path: [], message: NOT_AN_OBJECT }];
  if (!("configs" in raw)) return [];
  const problems = schemaProblems(ProfilesShellSchema, raw).filter((p) => p.path[0] !== "default");
  const names = isObject(raw.configs) ? Object.keys(raw.configs) : [];
  // Which profiles `default` may name is beyond the schema: this message lists them.
  if (raw.default !== undefined && (typeof raw.default !== "string" || !names.includes(raw.default)))
    problems.push({ path: ["default"], message: `must name one of the profiles: ${names.join(", ")}` });
  return problems;
}

/** Everything wrong with one profile at `at`; a JSON or YAML file cannot give the keys that hold code. */
export function profileProblems(raw: unknown, at: ConfigPath, isModule: boolean): PathProblem[] {
  const problems: PathProblem[] = [];
  if (!isModule && isObject(raw))
    for (const k of Object.keys(raw))
      if ((CODE_ONLY_KEYS as readonly string[]).includes(k))
        problems.push({ path: [...at, k], message: "is only possible in a TypeScript config (it holds code)" });
  const taken = new Set(problems.map((p) => JSON.stringify(p.path)));
  for (const p of schemaProblems(isModule ? ModuleProfileSchema : DataProfileSchema, raw, at))
    if (!taken.has(JSON.stringify(p.path))) problems.push(p);
  return problems;
}

/** Every problem of a whole file, every profile's included (`serve` stops at its own profile's first). */
export function fileProblems(raw: unknown, isModule: boolean): PathProblem[] {
  const shell = shellProblems(raw);
  if (!isObject(raw)) return shell;
  if (!("configs" in raw)) return profileProblems(raw, [], isModule);
  const profiles = isObject(raw.configs) ? Object.entries(raw.configs) : [];
  return [...shell, ...profiles.flatMap(([name, p]) => profileProblems(p, ["configs", name], isModule))];
}

/** The profile `profile` (or the file's only or default one), checked and filled in; the first problem throws. */
export function selectProfile(
  raw: unknown,
  profile: string | undefined,
  fail: Fail,
  isModule = false,
): { config: LabConfig; profile: string | null } {
  const first = shellProblems(raw)[0];
  if (first) throw fail(first.path, first.message);
  const file = raw as Record<string, unknown>;
  if ("configs" in file) {
    const profiles = file.configs as Record<string, unknown>;
    const names = Object.keys(profiles);
    let chosen = profile;
    if (chosen === undefined) {
      if (file.default !== undefined) chosen = file.default as string;
      else if (names.length === 1) chosen = names[0]!;
      else throw fail(["configs"], `holds several profiles (${names.join(", ")}): choose one with --profile`);
    }
    if (!Object.hasOwn(profiles, chosen))
      throw fail(["configs"], `has no profile '${chosen}' (profiles: ${names.join(", ")})`);
    return { config: checkedProfile(profiles[chosen], ["configs", chosen], fail, isModule), profile: chosen };
  }
  if (profile !== undefined)
    throw fail([], `--profile '${profile}' given, but this file holds one configuration (no 'configs' section)`);
  return { config: checkedProfile(raw, [], fail, isModule), profile: null };
}

function checkedProfile(raw: unknown, at: ConfigPath, fail: Fail, isModule: boolean): LabConfig {
  const first = profileProblems(raw, at, isModule)[0];
  if (first) throw fail(first.path, first.message);
  const input = raw as LabConfigInput;
  const devices: Record<string, DeviceConfig> = {};
  for (const [id, d] of Object.entries(input.devices ?? {}))
    devices[id] = { type: d.type, params: d.params ?? {}, connect: d.connect === true, callTimeoutMs: d.callTimeoutMs };
  const { cors, ...rest } = input;
  return { ...rest, devices, ...(cors !== undefined ? { cors: typeof cors === "string" ? [cors] : cors } : {}) };
}
