// Which running task owns which device: the one answer for the daemon, its proxies and the server.
// Claims are all-or-nothing and synchronous, so two concurrent task starts can never both win a device
// (JS runs one claim to completion before the next).
import { DeviceInUseError } from "./errors.ts";

/** One task run's hold on its devices; releasing it never frees a later run's claims. */
export interface Claim {
  readonly taskId: string;
  readonly deviceIds: readonly string[];
}

export class Ownership {
  private readonly owners = new Map<string, Claim>();
  /** Claims running tasks took over from a settled one, by task id (released when that task settles). */
  private readonly inherited = new Map<string, Claim[]>();

  /** The owning task id, or null. */
  ownerOf(deviceId: string): string | null {
    return this.owners.get(deviceId)?.taskId ?? null;
  }

  /** Claims every device for `taskId` or none; throws DeviceInUse naming each owned device and its owner. */
  claim(taskId: string, taskType: string, deviceIds: readonly string[]): Claim {
    const conflicts: { device_id: string; task_id: string }[] = [];
    for (const id of deviceIds) {
      const owner = this.owners.get(id);
      if (owner) conflicts.push({ device_id: id, task_id: owner.taskId });
    }
    if (conflicts.length > 0) {
      const list = conflicts.map((c) => `'${c.device_id}' (owned by '${c.task_id}')`).join(", ");
      throw new DeviceInUseError(`Cannot start task '${taskId}': devices already owned: ${list}`, {
        task_id: taskId,
        task_type: taskType,
        conflicts,
        // The first conflict in the shape every other DeviceInUse has.
        device_id: conflicts[0]!.device_id,
        owner_task_id: conflicts[0]!.task_id,
      });
    }
    const claim: Claim = { taskId, deviceIds: [...deviceIds] };
    for (const id of deviceIds) this.owners.set(id, claim);
    return claim;
  }

  /**
   * Claims whichever of `deviceIds` are free, for a task started without `exclusive` (by a script or a
   * parent task): a child works on devices its parent holds, yet clients must still not cut into it.
   */
  claimFree(taskId: string, taskType: string, deviceIds: readonly string[]): Claim | null {
    const free = deviceIds.filter((id) => !this.owners.has(id));
    return free.length > 0 ? this.claim(taskId, taskType, free) : null;
  }

  /**
   * Gives `deviceId`, just freed, to the running task `taskId` that still works on it (a child started
   * on its parent's devices that outlives the parent): clients must not cut into it either.
   */
  inherit(taskId: string, deviceId: string): void {
    if (this.owners.has(deviceId)) return;
    const claim: Claim = { taskId, deviceIds: [deviceId] };
    this.owners.set(deviceId, claim);
    const list = this.inherited.get(taskId);
    if (list) list.push(claim);
    else this.inherited.set(taskId, [claim]);
  }

  /** Frees what the settled task `taskId` inherited; returns those devices. */
  releaseInherited(taskId: string): string[] {
    const claims = this.inherited.get(taskId) ?? [];
    this.inherited.delete(taskId);
    for (const c of claims) this.release(c);
    return claims.flatMap((c) => c.deviceIds);
  }

  /** Frees what `claim` holds; idempotent. */
  release(claim: Claim): void {
    for (const id of claim.deviceIds) if (this.owners.get(id) === claim) this.owners.delete(id);
  }

  /** Throws 409 DeviceInUse if a task owns the device; `suffix` completes the message (" and cannot be …"). */
  assertFree(deviceId: string, suffix = ""): void {
    const owner = this.owners.get(deviceId);
    if (!owner) return;
    throw new DeviceInUseError(`Device '${deviceId}' is owned by task '${owner.taskId}'${suffix}`, {
      device_id: deviceId,
      task_id: owner.taskId,
    });
  }

  get size(): number {
    return this.owners.size;
  }
}
