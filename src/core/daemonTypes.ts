// The daemon's public shapes: device and task classes, options, tracked state, and the daemon's whole
// surface as an interface, so task code and the data layer can name it without importing daemon.ts.
import type { DaemonEvents, Emitter, ErrorOrigin } from "./events.ts";
import type { ForcedRelease, LeaseInfo, Leases } from "./leases.ts";
import type { MethodInfo } from "./methodSignature.ts";
import type { Ownership } from "./ownership.ts";
import type { StreamCallback, SubscribeOptions, Subscription } from "./streamHub.ts";

/**
 * A device is a plain class: `new (deviceId, params)`; every member optional. A static `params` typebox
 * schema is checked before construction; static `methods` describes and validates remote calls.
 */
export type DeviceClass = (new (
  deviceId: string,
  params: any,
) => object) & { methods?: Record<string, unknown>; params?: unknown };
/** A task is a plain class: `new (taskId, params)` with `run(ctx)`; validated when executed. */
export type TaskClass = (new (taskId: string, params: any) => any) & { params?: unknown };
export type DeviceRef = string | object;

/** What the daemon hands out for a device: every method returns a promise, serialised per device. */
export type DeviceProxy<T> = {
  [K in keyof T]: K extends "isConnected" | "isStreaming"
    ? () => boolean
    : T[K] extends (...args: infer A) => infer R
      ? (...args: A) => Promise<Awaited<R>>
      : T[K];
};

export interface LabDaemonOptions {
  /** Finished tasks kept for inspection; the oldest-finished goes first. Default 20. */
  completedTaskBuffer?: number;
  /** Default bound on every proxied device call, ms (0 = none). */
  callTimeoutMs?: number;
  /** Calls allowed to wait per device before new ones are refused. */
  queueLimit?: number;
  /** Running tasks allowed at once. */
  maxRunningTasks?: number;
}

export interface AddDeviceOptions {
  callTimeoutMs?: number;
}

export interface DeviceState {
  deviceId: string;
  deviceType: string;
  connected: boolean;
  streaming: boolean;
  /** A call is running on the device right now. */
  busy: boolean;
  /** Calls waiting behind it. */
  pending: number;
  subscribers: number;
  streamStartedBy: "local" | "subscribers" | null;
  /** Sequence number of the last streamed payload (0 if none). */
  lastSequence: number;
  /** The device's own bound on each call, ms (0: none). */
  callTimeoutMs: number;
  /** The running task that owns the device, or null. */
  ownedBy: string | null;
  /** The live lease's holder and expiry (never its id), or null. */
  lease: LeaseInfo | null;
  /** Who last had a lease on it ended by force, by whom and when; null if never. */
  lastForcedRelease: ForcedRelease | null;
}

export interface ExecuteTaskOptions {
  /** Runs after the task is constructed and validated, before it starts; throwing aborts the start. */
  beforeStart?(info: { taskId: string; taskType: string; deviceIds: readonly string[] }): void;
  /**
   * Claim every device in `deviceIds` or refuse to start (DeviceInUse naming each owner), as POST /tasks
   * does. Without it the task claims only the devices no other task holds: a child task works on
   * devices its parent already owns.
   */
  exclusive?: boolean;
  /** Started by a client (POST /tasks): a leased device can be claimed only with its lease. */
  asClient?: boolean;
  leaseId?: string;
}

/**
 * For operations a client outside any task asks for (the server's routes): refused with DeviceInUse
 * while a task owns the device — checked when asked, and again when the operation reaches the front of
 * the device's queue, so one accepted before a task claimed the device never runs against it afterwards.
 */
export interface ClientOptions {
  asClient?: boolean;
  /** The client's lease on the device, when it holds one (a leased device refuses client commands without it). */
  leaseId?: string;
}

/** A call's arguments as POST /call takes them: positional `args`, then `kwargs` by parameter name. */
export interface CallArguments {
  args?: unknown;
  kwargs?: unknown;
}

export type CallOptions = {
  timeoutMs?: number;
  /** Used when neither timeoutMs nor the device's callTimeoutMs is set. */
  defaultTimeoutMs?: number;
} & ClientOptions;

/**
 * Everything a LabDaemon offers, over its task handle type `H`: what `ctx.daemon` is inside a task.
 * LabDaemon implements it; the handle type is a parameter so this file never imports the task code.
 */
export interface LabDaemonApi<H> {
  readonly events: Emitter<DaemonEvents>;
  /** Which running task owns which device. */
  readonly ownership: Ownership;
  /** Client leases on devices. */
  readonly leases: Leases;
  readonly completedTaskBuffer: number;
  readonly closed: boolean;
  on<K extends keyof DaemonEvents>(type: K, fn: (e: DaemonEvents[K]) => void): () => void;

  registerPlugins(plugins: { devices?: Record<string, DeviceClass>; tasks?: Record<string, TaskClass> }): void;
  deviceTypeNames(): string[];
  taskTypeNames(): string[];
  getDeviceClass(type: string): DeviceClass | undefined;
  getTaskClass(type: string): TaskClass | undefined;

  addDevice<T extends object = any>(
    deviceId: string,
    deviceType: string,
    params?: Record<string, unknown>,
    opts?: AddDeviceOptions,
  ): DeviceProxy<T>;
  getDevice<T extends object = any>(deviceId: string): DeviceProxy<T>;
  hasDevice(deviceId: string): boolean;
  getDeviceInstance(deviceId: string): object;
  listDevices(): DeviceState[];
  deviceState(device: DeviceRef): DeviceState;
  removeDevice(device: DeviceRef, opts?: { timeoutMs?: number } & ClientOptions): Promise<void>;
  connectDevice(device: DeviceRef, opts?: { timeoutMs?: number } & ClientOptions): Promise<void>;
  disconnectDevice(device: DeviceRef, opts?: { timeoutMs?: number } & ClientOptions): Promise<void>;
  call(device: DeviceRef, method: string, args?: unknown[] | CallArguments, opts?: CallOptions): Promise<unknown>;
  describeMethods(device: DeviceRef): MethodInfo[];
  canStream(device: DeviceRef): boolean;
  streamStats(device: DeviceRef): Record<string, unknown> | null;

  ownerOf(deviceId: string): string | null;
  assertNotOwned(deviceId: string, suffix?: string): void;
  taskUsing(deviceId: string): string | null;

  startStreaming(device: DeviceRef, cb: StreamCallback, opts?: SubscribeOptions): Promise<Subscription>;
  subscribe(device: DeviceRef, cb: StreamCallback, opts?: SubscribeOptions): Promise<Subscription>;
  observeStream(device: DeviceRef, cb: StreamCallback): () => void;
  assertClientMayStartStream(device: DeviceRef, leaseId: string | undefined): void;
  stopStreaming(device: DeviceRef, timeoutMs?: number, opts?: ClientOptions): Promise<void>;

  executeTask(taskId: string, taskType: string, params?: Record<string, unknown>, opts?: ExecuteTaskOptions): H;
  getTask(taskId: string): H;
  hasTask(taskId: string): boolean;
  listTasks(): H[];

  deviceContext<T extends object = any>(
    deviceId: string,
    deviceType: string,
    params?: Record<string, unknown>,
    opts?: { connectTimeoutMs?: number; callTimeoutMs?: number },
  ): Promise<DeviceProxy<T> & AsyncDisposable>;
  taskContext(taskId: string, taskType: string, params?: Record<string, unknown>): H & AsyncDisposable;

  shutdown(opts?: { timeoutMs?: number }): Promise<void>;
  recordDeviceError(deviceId: string, error: unknown, origin: ErrorOrigin, context?: Record<string, unknown>): void;
}
