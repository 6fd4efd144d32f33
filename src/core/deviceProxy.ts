// The serialising proxy the daemon hands out for a device: each method call validated and queued on the
// device, lifecycle methods routed through the daemon, failures reported with where the call was made.
import type { DaemonParts } from "./daemonParts.ts";
import type { DeviceTable, DeviceEntry } from "./deviceTable.ts";
import { closedError, removedError } from "./deviceTable.ts";
import { validateArguments } from "./methodPlan.ts";
import type { StreamCallback } from "./streamHub.ts";

/** The daemon operations a proxy's lifecycle members stand for. */
export interface DeviceOps {
  connectDevice(id: string): Promise<void>;
  disconnectDevice(id: string): Promise<void>;
  startStreaming(id: string, cb: StreamCallback): Promise<unknown>;
  stopStreaming(id: string, timeoutMs?: number): Promise<void>;
  removeDevice(id: string): Promise<void>;
}

export function makeProxy(parts: DaemonParts, e: DeviceEntry, ops: DeviceOps): object {
  const wrappers = new Map<string, { fn: Function; wrapper: Function }>();
  const devices: DeviceTable = parts.devices;
  const lifecycle: Record<string, Function> = {
    connect: () => ops.connectDevice(e.id),
    disconnect: () => ops.disconnectDevice(e.id),
    isConnected: () => e.connected,
    isStreaming: () => e.hub.streaming,
    startStreaming: (cb: StreamCallback) => ops.startStreaming(e.id, cb),
    stopStreaming: (timeoutMs?: number) => ops.stopStreaming(e.id, timeoutMs),
  };
  return new Proxy(e.instance, {
    get(target, prop) {
      if (typeof prop === "symbol") {
        if (prop === Symbol.asyncDispose && e.disposable) return () => ops.removeDevice(e.id);
        return Reflect.get(target, prop, target);
      }
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (Object.hasOwn(lifecycle, prop)) return lifecycle[prop];
      const cached = wrappers.get(prop);
      if (cached && cached.fn === value) return cached.wrapper;
      const wrapper = (...args: unknown[]) => {
        if (!devices.isCurrent(e)) return Promise.reject(removedError(e.id));
        if (devices.closed) return Promise.reject(closedError());
        try {
          validateArguments(target, prop, value, args, e.id);
        } catch (err) {
          return Promise.reject(err);
        }
        // Inside a task (the device is claimed), where the call came from is kept, so a failure's
        // traceback shows the task's own frame; elsewhere the hot path does not pay for a stack.
        const site = parts.ownership.ownerOf(e.id) !== null ? callSite(wrapper) : null;
        return e.queue
          .run(() => value.apply(target, args), prop, e.callTimeoutMs)
          .catch((err) => {
            if (site) appendCallSite(err, site);
            parts.failures.entry(e, err, "device", { method: prop });
            throw err;
          });
      };
      wrappers.set(prop, { fn: value, wrapper });
      return wrapper;
    },
  });
}

const withCallSite = new WeakSet<object>();

/** The caller's stack, without the proxy's own frame. */
function callSite(skip: Function): { stack?: string } {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, skip);
  return site;
}

/** Adds where the failed call was made to a device error's traceback (once per error object). */
function appendCallSite(err: unknown, site: { stack?: string }): void {
  if (!(err instanceof Error) || withCallSite.has(err) || typeof site.stack !== "string") return;
  withCallSite.add(err);
  const frames = site.stack.split("\n").filter((l) => /^\s+at /.test(l));
  try {
    err.stack = `${err.stack ?? `${err.name}: ${err.message}`}\n    at (called through the daemon)\n${frames.join("\n")}`;
  } catch {
    // a frozen error keeps its own stack
  }
}
