// A device's life in the daemon: constructed (params checked) and registered, connected, disconnected
// and removed; each step in the device's queue, bounded, refused to clients while a task owns it.
import { clientGuard } from "./claims.ts";
import { CLEANUP_TIMEOUT_MS, callLifecycle } from "./deviceCall.ts";
import { nonNegativeInt, type DaemonParts } from "./daemonParts.ts";
import type { AddDeviceOptions, ClientOptions } from "./daemonTypes.ts";
import { makeProxy, type DeviceOps } from "./deviceProxy.ts";
import { DeviceQueue } from "./deviceQueue.ts";
import { makeHub } from "./deviceStream.ts";
import { removedError, type DeviceEntry } from "./deviceTable.ts";
import {
  DeviceCreationError,
  DeviceExistsError,
  DeviceInUseError,
  DeviceTimeoutError,
  DeviceTypeNotFoundError,
  InvalidRequestError,
  asError,
} from "./errors.ts";
import { checkId, isPlainObject } from "./ids.ts";
import { describeProblems, paramsProblems } from "./params.ts";
import { attachServiceRequests } from "./deviceSrq.ts";
import type { StreamHub } from "./streamHub.ts";
import { clip } from "./clip.ts";

type Bounded = { timeoutMs?: number } & ClientOptions;

/** Constructs a device (not connected), registers it and returns its entry (with its serialising proxy). */
export function createDevice(
  parts: DaemonParts,
  ops: DeviceOps,
  deviceId: string,
  deviceType: string,
  params: Record<string, unknown>,
  opts: AddDeviceOptions,
): DeviceEntry {
  checkId("device", deviceId);
  if (!isPlainObject(params))
    throw new InvalidRequestError(`params for device '${deviceId}' must be an object`, { device_id: deviceId });
  if (parts.devices.has(deviceId))
    throw new DeviceExistsError(`Device with ID '${deviceId}' already exists.`, { device_id: deviceId });
  const Cls = parts.registry.deviceClass(deviceType);
  if (!Cls) {
    throw new DeviceTypeNotFoundError(
      `Unknown device type: '${clip(String(deviceType), 140)}'. Is the plugin registered?`,
      { device_type: clip(String(deviceType), 140) },
    );
  }
  const problems = paramsProblems(Cls, params);
  if (problems.length > 0) {
    throw new DeviceCreationError(
      `Failed to create device '${deviceId}' of type '${deviceType}': ${describeProblems(problems)}`,
      { device_id: deviceId, device_type: deviceType, errors: problems },
    );
  }
  let instance: Record<string, any>;
  try {
    instance = new Cls(deviceId, params) as Record<string, any>;
  } catch (e) {
    const err = asError(e);
    throw new DeviceCreationError(
      `Failed to create device '${deviceId}' of type '${deviceType}': ${err.message}`,
      { device_id: deviceId, device_type: deviceType },
      { cause: err },
    );
  }
  const entry: DeviceEntry = {
    id: deviceId,
    type: deviceType,
    instance,
    proxy: null,
    queue: new DeviceQueue(deviceId, parts.limits.queueLimit),
    hub: null as unknown as StreamHub,
    connected: false,
    callTimeoutMs: nonNegativeInt(opts.callTimeoutMs ?? parts.limits.callTimeoutMs, "callTimeoutMs"),
    disposable: false,
    removing: false,
  };
  entry.hub = makeHub(parts, entry);
  entry.proxy = makeProxy(parts, entry, ops);
  parts.devices.add(entry);
  parts.emitDevice("added", deviceId);
  return entry;
}

/** Calls `connect()` in the device's queue; with `timeoutMs`, a hung connect is cleaned up by a bounded disconnect. */
export async function connectDevice(parts: DaemonParts, e: DeviceEntry, opts: Bounded): Promise<void> {
  parts.devices.assertOpen();
  const guard = clientGuard(opts, " and cannot be connected");
  if (guard !== null) parts.claims.assertClient(e.id, guard);
  if (e.connected) return;
  const connect = e.instance.connect;
  if (typeof connect !== "function") attachServiceRequests(parts, e);
  else {
    try {
      await e.queue.run(
        parts.claims.admitted(e.id, guard, () => {
          // Before connect(), so a device can enable its instrument's requests while connecting.
          attachServiceRequests(parts, e);
          return connect.call(e.instance);
        }),
        "connect",
        opts.timeoutMs ?? 0,
      );
    } catch (err) {
      if (err instanceof DeviceInUseError) throw err;
      if (err instanceof DeviceTimeoutError && err.context.method === "connect") {
        const disconnect = e.instance.disconnect;
        if (typeof disconnect === "function") {
          // The connect still holds the device: this runs beside it, so the device can abort it.
          await e.queue
            .run(() => disconnect.call(e.instance), "disconnect", CLEANUP_TIMEOUT_MS, "beside")
            .catch(() => {});
        }
        const timeout = new DeviceTimeoutError(`Device '${e.id}' connection timed out after ${opts.timeoutMs} ms`, {
          device_id: e.id,
          operation: "connect",
          timeout_ms: opts.timeoutMs,
        });
        parts.failures.entry(e, timeout, "device", { operation: "connect" });
        throw timeout;
      }
      parts.failures.entry(e, err, "device", { operation: "connect" });
      throw err;
    }
  }
  e.connected = true;
  parts.emitDevice("connected", e.id);
}

/** Stops the device's stream, then calls `disconnect()`; a timeout marks it disconnected and rejects. */
export async function disconnectDevice(parts: DaemonParts, e: DeviceEntry, opts: Bounded): Promise<void> {
  const guard = clientGuard(opts, " and cannot be disconnected");
  if (guard !== null) parts.claims.assertClient(e.id, guard);
  if (e.hub.streaming) {
    // Checked again after a start under way: a task may have claimed the device meanwhile.
    const admit = guard === null ? undefined : () => parts.claims.assertClient(e.id, guard);
    try {
      await e.hub.stop(
        { type: "DeviceDisconnected", message: `device '${e.id}' was disconnected` },
        opts.timeoutMs,
        admit,
      );
    } catch (err) {
      if (err instanceof DeviceInUseError) throw err;
    }
  }
  try {
    // A device stuck in a call that timed out is disconnected beside that call: closing the instrument
    // is what aborts the hung I/O.
    // A disconnect that times out waiting for its turn still runs then: the device counts as disconnected
    // from now, and a later connect queues behind it.
    await callLifecycle(parts, e, "disconnect", [], opts.timeoutMs ?? 0, guard, "beside", true);
  } catch (err) {
    if (err instanceof DeviceInUseError) throw err;
    if (err instanceof DeviceTimeoutError) markDisconnected(parts, e);
    parts.failures.entry(e, err, "device", { operation: "disconnect" });
    throw err;
  }
  markDisconnected(parts, e);
}

/**
 * Stops its stream, disconnects it and forgets it. Refused while a running task uses it, and for a
 * client also while a task owns it or someone else's lease holds it.
 */
export async function removeDevice(parts: DaemonParts, e: DeviceEntry, opts: Bounded): Promise<void> {
  if (opts.asClient) {
    parts.claims.assertNotOwned(e.id, " and cannot be removed");
    parts.leases.assertMay(e.id, opts.leaseId, " and cannot be removed without its lease");
  }
  const user = parts.claims.taskUsing(e.id);
  if (user) {
    throw new DeviceInUseError(`Device '${e.id}' is used by running task '${user}'.`, {
      device_id: e.id,
      task_id: user,
    });
  }
  // Marked before the first await: a task starting during the stop and disconnect below must not
  // claim a device that is about to vanish from under it.
  e.removing = true;
  const timeoutMs = opts.timeoutMs ?? CLEANUP_TIMEOUT_MS;
  await e.hub.stop({ type: "DeviceRemoved", message: `device '${e.id}' was removed` }, timeoutMs).catch(() => {});
  if (e.connected) await disconnectDevice(parts, e, { timeoutMs }).catch(() => {});
  if (!parts.devices.isCurrent(e)) return;
  parts.devices.delete(e);
  parts.leases.drop(e.id);
  e.queue.close(removedError(e.id));
  parts.emitDevice("removed", e.id);
}

function markDisconnected(parts: DaemonParts, e: DeviceEntry): void {
  if (!e.connected) return;
  e.connected = false;
  parts.emitDevice("disconnected", e.id);
}
