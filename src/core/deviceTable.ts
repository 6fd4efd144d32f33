// The daemon's devices by id and by object (instance or proxy), and whether they still take commands.
import type { DeviceQueue } from "./deviceQueue.ts";
import { DaemonClosedError, DeviceNotFoundError, InvalidRequestError } from "./errors.ts";
import type { DeviceRef } from "./daemonTypes.ts";
import type { StreamHub } from "./streamHub.ts";
import { clip } from "./clip.ts";

export interface DeviceEntry {
  id: string;
  type: string;
  instance: Record<string, any>;
  proxy: any;
  queue: DeviceQueue;
  hub: StreamHub;
  connected: boolean;
  callTimeoutMs: number;
  disposable: boolean;
  /** removeDevice is under way: no task may claim it any more. */
  removing: boolean;
}

export class DeviceTable {
  private readonly byId = new Map<string, DeviceEntry>();
  private readonly byObject = new WeakMap<object, DeviceEntry>();
  /** Set during shutdown once tasks have ended (their cleanup may still drive devices until then). */
  private closedForCommands = false;

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The entry registered under `id` now, if any (no error). */
  get(id: string): DeviceEntry | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  entries(): DeviceEntry[] {
    return [...this.byId.values()];
  }

  add(e: DeviceEntry): void {
    this.byId.set(e.id, e);
    this.byObject.set(e.instance, e);
    this.byObject.set(e.proxy, e);
  }

  delete(e: DeviceEntry): void {
    if (this.byId.get(e.id) === e) this.byId.delete(e.id);
  }

  /** Still the device registered under its id: a removed entry (or one replaced by a new device of that id) is not. */
  isCurrent(e: DeviceEntry): boolean {
    return this.byId.get(e.id) === e;
  }

  /** The entry for an id, an instance or a proxy; DeviceNotFound otherwise. */
  entry(device: DeviceRef): DeviceEntry {
    let e: DeviceEntry | undefined;
    if (typeof device === "string") e = this.byId.get(device);
    else if (device !== null && typeof device === "object") {
      e = this.byObject.get(device);
      if (e && !this.isCurrent(e)) e = undefined;
    } else {
      throw new InvalidRequestError("Device must be given by its string id or its instance.");
    }
    if (!e) {
      const id = typeof device === "string" ? clip(device, 140) : "<unregistered instance>";
      throw new DeviceNotFoundError(`No device found with ID: '${id}'`, { device_id: id });
    }
    return e;
  }

  get closed(): boolean {
    return this.closedForCommands;
  }

  /** From now on calls, connects and streams are refused (disconnect stays allowed). */
  close(): void {
    this.closedForCommands = true;
  }

  assertOpen(): void {
    if (this.closedForCommands) throw closedError();
  }
}

export const closedError = () =>
  new DaemonClosedError("The daemon has been shut down: its devices take no more commands.");

export const removedError = (id: string) =>
  new DeviceNotFoundError(`No device found with ID: '${id}' (it was removed)`, { device_id: id });
