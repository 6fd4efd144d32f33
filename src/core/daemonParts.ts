// What the daemon's parts share (class registry, device and task tables, claims, leases, failure reports,
// the event emitter and the limits), built once per LabDaemon and handed to each part.
import { DeviceClaims } from "./claims.ts";
import { DEFAULT_QUEUE_LIMIT } from "./deviceQueue.ts";
import { DeviceTable } from "./deviceTable.ts";
import { InvalidRequestError } from "./errors.ts";
import { Emitter, isoNow, type DaemonEvents, type DeviceEventKind } from "./events.ts";
import { FailureReports } from "./failures.ts";
import { Leases, type LeaseChange } from "./leases.ts";
import type { LabDaemonOptions } from "./daemonTypes.ts";
import { Ownership } from "./ownership.ts";
import { Registry } from "./registry.ts";
import { TaskTable } from "./taskTable.ts";

export interface DaemonLimits {
  completedTaskBuffer: number;
  /** Default bound on every device call, ms (0: none). */
  callTimeoutMs: number;
  queueLimit: number;
  maxRunningTasks: number;
}

export interface DaemonParts {
  readonly events: Emitter<DaemonEvents>;
  readonly registry: Registry;
  readonly devices: DeviceTable;
  readonly tasks: TaskTable;
  readonly ownership: Ownership;
  readonly leases: Leases;
  readonly claims: DeviceClaims;
  readonly failures: FailureReports;
  readonly limits: DaemonLimits;
  emitDevice(kind: DeviceEventKind, deviceId: string): void;
}

const LEASE_EVENTS: Record<LeaseChange, DeviceEventKind> = {
  acquired: "leased",
  renewed: "lease_renewed",
  forced: "lease_forced",
  released: "lease_ended",
  expired: "lease_ended",
};

export function buildParts(opts: LabDaemonOptions): DaemonParts {
  const limits: DaemonLimits = {
    completedTaskBuffer: nonNegativeInt(opts.completedTaskBuffer ?? 20, "completedTaskBuffer"),
    callTimeoutMs: nonNegativeInt(opts.callTimeoutMs ?? 0, "callTimeoutMs"),
    queueLimit: nonNegativeInt(opts.queueLimit ?? DEFAULT_QUEUE_LIMIT, "queueLimit"),
    maxRunningTasks: nonNegativeInt(opts.maxRunningTasks ?? 1000, "maxRunningTasks"),
  };
  const events = new Emitter<DaemonEvents>();
  const emitDevice = (kind: DeviceEventKind, deviceId: string) =>
    events.emit("device", { kind, deviceId, timestamp: isoNow() });
  const devices = new DeviceTable();
  const tasks = new TaskTable(limits.completedTaskBuffer);
  const ownership = new Ownership();
  // A lease change is a device event, so the device's state follows it.
  const leases = new Leases((id, change) => emitDevice(LEASE_EVENTS[change], id));
  return {
    events,
    registry: new Registry(),
    devices,
    tasks,
    ownership,
    leases,
    claims: new DeviceClaims(ownership, leases, tasks),
    failures: new FailureReports(events, devices),
    limits,
    emitDevice,
  };
}

export function nonNegativeInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    throw new InvalidRequestError(`${name} must be a non-negative integer`);
  return v;
}
