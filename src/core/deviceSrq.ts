// A device's service requests: a device class with `attachServiceRequests(forward)` is handed, each time it
// connects (before connect()), a function to call with the status byte whenever its instrument requests
// service; the daemon emits each as an `srq` event (the server's device stream carries it as `device_srq`).
import type { DaemonParts } from "./daemonParts.ts";
import type { DeviceEntry } from "./deviceTable.ts";
import { isoMillis } from "./events.ts";

/** What a device is handed: call it with the status byte (null when unknown) at each service request. */
export type ServiceRequestForward = (statusByte?: number | null) => void;

export function forwardsServiceRequests(e: DeviceEntry): boolean {
  return typeof e.instance.attachServiceRequests === "function";
}

/** Hands the device its forward function, when it takes one; a throw fails the connect it precedes. */
export function attachServiceRequests(parts: DaemonParts, e: DeviceEntry): void {
  if (!forwardsServiceRequests(e)) return;
  const forward: ServiceRequestForward = (statusByte) => {
    // A request arriving after the device was removed (or replaced under its id) belongs to nobody.
    if (!parts.devices.isCurrent(e)) return;
    const stb = typeof statusByte === "number" && Number.isInteger(statusByte) ? statusByte & 0xff : null;
    parts.events.emit("srq", { deviceId: e.id, statusByte: stb, timestamp: isoMillis(Date.now()) });
  };
  e.instance.attachServiceRequests(forward);
}
