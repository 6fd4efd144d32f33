// Calls on a device through its queue: a remote call by method name (keyword arguments bound, arguments
// validated, the same for POST /call and in-process callers) and the lifecycle methods the daemon drives.
import { clientGuard, type ClientGuard } from "./claims.ts";
import type { DaemonParts } from "./daemonParts.ts";
import type { CallArguments, CallOptions, DeviceRef } from "./daemonTypes.ts";
import type { WhenStuck } from "./deviceQueue.ts";
import type { DeviceEntry } from "./deviceTable.ts";
import { InvalidRequestError, MethodNotFoundError } from "./errors.ts";
import { isPlainObject } from "./ids.ts";
import { bindArguments } from "./methodBinding.ts";
import { validateArguments } from "./methodPlan.ts";
import { lookupMethod } from "./methods.ts";
import { clip } from "./clip.ts";

/** Bound on the cleanup calls the daemon makes on its own (a disconnect after a hung connect, a removal's stop). */
export const CLEANUP_TIMEOUT_MS = 2000;

/** Errors the daemon raised before a call reached the device (see isCallRefusal). */
const refusals = new WeakSet<object>();

/**
 * The daemon refused the call before it reached the device (unknown method, bad arguments, owned, shut
 * down): the caller's or the framework's problem, never the device's, whatever its class.
 */
export function isCallRefusal(err: unknown): boolean {
  return err !== null && typeof err === "object" && refusals.has(err);
}

function refused(err: unknown): never {
  if (err !== null && typeof err === "object") refusals.add(err);
  throw err;
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Calls a public method by name: private names, getters, lifecycle methods and anything inherited from
 * Object are refused. `args` is either the positional arguments or `{ args, kwargs }` as POST /call has them.
 */
export async function callDevice(
  parts: DaemonParts,
  device: DeviceRef,
  method: string,
  args: unknown[] | CallArguments,
  opts: CallOptions,
): Promise<unknown> {
  let e: DeviceEntry;
  let positional: unknown[];
  let guard: ClientGuard | null;
  let fn: Function;
  try {
    e = parts.devices.entry(device);
    if (!Array.isArray(args) && isPlainObject(args)) positional = bind(parts, e, method, args, opts);
    else positional = args as unknown[];
    parts.devices.assertOpen();
    guard = clientGuard(opts, "");
    if (guard !== null) parts.claims.assertClient(e.id, guard);
    if (typeof method !== "string" || method.length === 0)
      throw new InvalidRequestError("Method name is required", { device_id: e.id });
    fn = findMethod(e, method);
    validateArguments(e.instance, method, fn, positional, e.id);
  } catch (err) {
    refused(err);
  }
  try {
    return await e.queue.run(
      parts.claims.admitted(e.id, guard, () => fn.apply(e.instance, positional)),
      method,
      opts.timeoutMs ?? (e.callTimeoutMs || opts.defaultTimeoutMs || 0),
    );
  } catch (err) {
    parts.failures.entry(e, err, "device", { method });
    throw err;
  }
}

/**
 * `{ args, kwargs }` as positional arguments, checked in the order POST /call always reported them: a
 * client's call on an owned device first, then the method name, then the arguments' shapes and names.
 */
function bind(parts: DaemonParts, e: DeviceEntry, method: unknown, call: CallArguments, opts: CallOptions): unknown[] {
  if (opts.asClient) parts.claims.assertNotOwned(e.id);
  if (!method) throw new InvalidRequestError("Method name is required", { device_id: e.id });
  if (typeof method !== "string") throw new InvalidRequestError("Method name must be a string", { device_id: e.id });
  const found = lookupMethod(e.instance, method);
  if (!found.ok) {
    // Why the method cannot be called is told before the arguments are looked at (a shut-down daemon first).
    parts.devices.assertOpen();
    findMethod(e, method);
  }
  const args = call.args === undefined ? [] : call.args;
  if (!Array.isArray(args)) throw new InvalidRequestError("'args' must be a list", { device_id: e.id, method });
  const kwargs = call.kwargs === undefined ? EMPTY : call.kwargs;
  if (kwargs !== EMPTY && !isPlainObject(kwargs))
    throw new InvalidRequestError("'kwargs' must be a dict", { device_id: e.id, method });
  if (!found.ok) return args;
  return bindArguments(e.id, e.instance, method, found.fn, args, kwargs as Record<string, unknown>);
}

/** The method `method` names, or why it cannot be called remotely. */
function findMethod(e: DeviceEntry, method: string): Function {
  const found = lookupMethod(e.instance, method);
  if (found.ok) return found.fn;
  const ctx = { device_id: e.id, method };
  switch (found.reason) {
    case "private":
      throw new InvalidRequestError(`Private methods cannot be called: '${method}'`, ctx);
    case "lifecycle":
      throw new InvalidRequestError(`'${method}' is a lifecycle method; use its own route`, ctx);
    case "not_method":
      throw new InvalidRequestError(`'${method}' is not a method of device '${e.id}'`, ctx);
    case "not_remote":
      throw new MethodNotFoundError(
        `Method '${clip(method, 140)}' of device '${e.id}' is not remote (its class lists the remote ones in static remote)`,
        ctx,
      );
    default:
      throw new MethodNotFoundError(`Method '${clip(method, 140)}' not found on device '${e.id}'`, ctx);
  }
}

/** A lifecycle method (connect, disconnect, start/stopStreaming) in the device's queue; absent: nothing to do.
 * `runsAnyway`: cleanup that still runs in its turn when its caller's timeout has answered the caller. */
export function callLifecycle(
  parts: DaemonParts,
  e: DeviceEntry,
  name: string,
  args: unknown[],
  timeoutMs: number,
  guard: ClientGuard | null = null,
  whenStuck: WhenStuck = "fail",
  runsAnyway = false,
): Promise<unknown> {
  const fn = e.instance[name];
  if (typeof fn !== "function") return Promise.resolve();
  return e.queue.run(
    parts.claims.admitted(e.id, guard, () => fn.apply(e.instance, args)),
    name,
    timeoutMs,
    whenStuck,
    runsAnyway,
  );
}
