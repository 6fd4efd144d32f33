// Who may act on a device: the one answer to "which task owns it" (a task's claim, a running task that
// uses it) and the check a client's operation passes — no task owns the device, and a lease on it is the client's.
import type { ClientOptions } from "./daemonTypes.ts";
import type { Leases } from "./leases.ts";
import type { Ownership } from "./ownership.ts";
import type { TaskTable } from "./taskTable.ts";

/** A client operation's check: no task may own the device, and a lease on it must be the client's. */
export interface ClientGuard {
  /** Completes the refusal's message (" and cannot be connected"). */
  suffix: string;
  leaseId?: string;
}

/** The guard for a client's operation; null for in-process code and tasks, which are never refused. */
export const clientGuard = (opts: ClientOptions, suffix: string): ClientGuard | null =>
  opts.asClient ? { suffix, leaseId: opts.leaseId } : null;

export class DeviceClaims {
  constructor(
    readonly ownership: Ownership,
    private readonly leases: Leases,
    private readonly tasks: TaskTable,
  ) {}

  /** The task whose claim holds the device, or null. */
  ownerOf(deviceId: string): string | null {
    return this.ownership.ownerOf(deviceId);
  }

  /** DeviceInUse (409) while a task's claim holds the device; `suffix` completes the message (" and cannot be …"). */
  assertNotOwned(deviceId: string, suffix = ""): void {
    this.ownership.assertFree(deviceId, suffix);
  }

  /**
   * A running task that lists the device, claimed by it or not (a child works under its parent's claim,
   * and may outlive it), or null.
   */
  taskUsing(deviceId: string): string | null {
    return this.tasks.runningUsing(deviceId);
  }

  /** DeviceInUse while a task owns the device; DeviceLeased while someone else's lease holds it. */
  assertClient(deviceId: string, guard: ClientGuard): void {
    this.ownership.assertFree(deviceId, guard.suffix);
    this.leases.assertMay(deviceId, guard.leaseId, guard.suffix);
  }

  /**
   * `fn`, refused (DeviceInUse) if a task owns the device by the time it reaches the front of the
   * device's queue; `guard` null: an operation of a task or of in-process code, never refused.
   */
  admitted<T>(deviceId: string, guard: ClientGuard | null, fn: () => T): () => T {
    if (guard === null) return fn;
    return () => {
      this.assertClient(deviceId, guard);
      return fn();
    };
  }
}
