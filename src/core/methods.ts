// Which device methods a remote caller may reach: public methods the class itself defines, narrowed to
// the class's `static remote` list when it declares one.

/** Lifecycle and streaming members have their own daemon calls and routes. */
export const LIFECYCLE_METHODS: ReadonlySet<string> = new Set([
  "connect",
  "disconnect",
  "isConnected",
  "startStreaming",
  "stopStreaming",
  "isStreaming",
  "attachServiceRequests",
]);

/**
 * Never callable, even when found on the class chain: every prototype has its own `constructor`, and a
 * device answering `then` would turn the daemon's promises into its own. (Object.prototype's members are
 * never reached: the walk stops before it, so a class's own `toString` is a method like any other.)
 */
const FORBIDDEN: ReadonlySet<string> = new Set(["constructor", "then", "__proto__", "prototype"]);

export type MethodLookup =
  | { ok: true; fn: (...args: unknown[]) => unknown }
  | { ok: false; reason: "private" | "lifecycle" | "not_found" | "not_method" | "not_remote" };

/**
 * The class's `static remote` list (inherited like any static), or null when it declares none. TypeScript
 * `private` does not exist at run time: this list is how a class keeps its helpers off the network.
 */
export function remoteList(instance: object): readonly string[] | null {
  const remote = (instance.constructor as { remote?: unknown } | undefined)?.remote;
  return Array.isArray(remote) ? remote : null;
}

/** What is wrong with a class's `static remote` declaration, or null when it is absent or sound. */
export function remoteDeclarationProblem(cls: Function): string | null {
  const remote = (cls as { remote?: unknown }).remote;
  if (remote === undefined) return null;
  if (!Array.isArray(remote) || !remote.every((n) => typeof n === "string"))
    return "static remote must be a list of method names";
  for (const name of remote as string[]) {
    if (name.startsWith("_") || name.startsWith("#") || FORBIDDEN.has(name) || LIFECYCLE_METHODS.has(name)) {
      return `static remote names '${name}', which can never be called remotely`;
    }
    let found = false;
    for (let o = cls.prototype; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (d) {
        found = typeof d.value === "function";
        break;
      }
    }
    if (!found) return `static remote names '${name}', which is not a method of the class`;
  }
  return null;
}

/**
 * Finds `name` on the device's own class chain (never Object.prototype), refusing private names,
 * getters, lifecycle methods and, by default, methods left out of the class's `static remote` list.
 * Own data properties are reported as "not a method". `remoteOnly: false` is for in-process checks
 * (a task's requiredMethods), which may use any public method.
 */
export function lookupMethod(instance: object, name: string, opts: { remoteOnly?: boolean } = {}): MethodLookup {
  if (name.startsWith("_") || name.startsWith("#")) return { ok: false, reason: "private" };
  if (FORBIDDEN.has(name)) return { ok: false, reason: "not_found" };
  if (LIFECYCLE_METHODS.has(name)) return { ok: false, reason: "lifecycle" };
  for (
    let o: object | null = instance;
    o && o !== Object.prototype && o !== Function.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (!d) continue;
    if (d.get || d.set) return { ok: false, reason: "not_method" };
    if (typeof d.value !== "function") return { ok: false, reason: "not_method" };
    if (o === instance) return { ok: false, reason: "not_method" }; // a callable stored as data, not a method
    if (opts.remoteOnly !== false && !(remoteList(instance)?.includes(name) ?? true))
      return { ok: false, reason: "not_remote" };
    return { ok: true, fn: d.value };
  }
  return { ok: false, reason: "not_found" };
}

/** Every method a remote caller may reach, in class order (subclass first). */
export function publicMethodNames(instance: object): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (let o = Object.getPrototypeOf(instance); o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (lookupMethod(instance, name).ok) names.push(name);
    }
  }
  return names;
}
