// Which device methods a remote caller may reach: public methods the class itself defines.

/** Lifecycle and streaming members have their own daemon calls and routes. */
export const LIFECYCLE_METHODS: ReadonlySet<string> = new Set([
  "connect", "disconnect", "isConnected", "startStreaming", "stopStreaming", "isStreaming",
]);

/**
 * Never callable, even when found on the class chain: every prototype has its own `constructor`, and a
 * device answering `then` would turn the daemon's promises into its own. (Object.prototype's members are
 * never reached: the walk stops before it, so a class's own `toString` is a method like any other.)
 */
const FORBIDDEN: ReadonlySet<string> = new Set(["constructor", "then", "__proto__", "prototype"]);

export type MethodLookup =
  | { ok: true; fn: (...args: unknown[]) => unknown }
  | { ok: false; reason: "private" | "lifecycle" | "not_found" | "not_method" };

/**
 * Finds `name` on the device's own class chain (never Object.prototype), refusing private names,
 * getters and lifecycle methods. Own data properties are reported as "not a method".
 */
export function lookupMethod(instance: object, name: string): MethodLookup {
  if (name.startsWith("_") || name.startsWith("#")) return { ok: false, reason: "private" };
  if (FORBIDDEN.has(name)) return { ok: false, reason: "not_found" };
  if (LIFECYCLE_METHODS.has(name)) return { ok: false, reason: "lifecycle" };
  for (let o: object | null = instance; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (!d) continue;
    if (d.get || d.set) return { ok: false, reason: "not_method" };
    if (typeof d.value !== "function") return { ok: false, reason: "not_method" };
    if (o === instance) return { ok: false, reason: "not_method" }; // a callable stored as data, not a method
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
