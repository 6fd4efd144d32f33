// LabDaemon, the facade: registers device and task classes, hands out serialising device proxies, runs
// tasks and shuts down within a bound. Each job lives in its own part (deviceLifecycle, deviceCall,
// deviceStream, taskAdmission, claims, shutdown …); this class holds them together. No HTTP here.
import { CLEANUP_TIMEOUT_MS, callDevice } from "./deviceCall.ts";
import { buildParts, type DaemonParts } from "./daemonParts.ts";
import type {
  AddDeviceOptions,
  CallArguments,
  CallOptions,
  ClientOptions,
  DeviceClass,
  DeviceProxy,
  DeviceRef,
  DeviceState,
  ExecuteTaskOptions,
  LabDaemonApi,
  LabDaemonOptions,
  TaskClass,
} from "./daemonTypes.ts";
import { clientGuard } from "./claims.ts";
import { withDeadline } from "./deadline.ts";
import { connectDevice, createDevice, disconnectDevice, removeDevice } from "./deviceLifecycle.ts";
import type { DeviceOps } from "./deviceProxy.ts";
import type { DeviceEntry } from "./deviceTable.ts";
import { DEFAULT_STOP_TIMEOUT_MS, canStream, streamStats } from "./deviceStream.ts";
import { forwardsServiceRequests } from "./deviceSrq.ts";
import { DaemonClosedError, DeviceNotFoundError, InvalidRequestError, LabDaemonError } from "./errors.ts";
import type { DaemonEvents, Emitter, ErrorOrigin } from "./events.ts";
import type { Leases } from "./leases.ts";
import { describeMethods, type MethodInfo } from "./methodSignature.ts";
import type { Ownership } from "./ownership.ts";
import { shutdownDaemon } from "./shutdown.ts";
import type { StreamCallback, SubscribeOptions, Subscription } from "./streamHub.ts";
import { admitTask } from "./taskAdmission.ts";
import type { TaskHandle } from "./tasks.ts";

export type {
  AddDeviceOptions,
  CallArguments,
  CallOptions,
  ClientOptions,
  DeviceClass,
  DeviceProxy,
  DeviceRef,
  DeviceState,
  ExecuteTaskOptions,
  LabDaemonApi,
  LabDaemonOptions,
  TaskClass,
} from "./daemonTypes.ts";

type Bounded = { timeoutMs?: number } & ClientOptions;

export class LabDaemon implements LabDaemonApi<TaskHandle> {
  private readonly parts: DaemonParts;
  readonly events: Emitter<DaemonEvents>;
  /** Which running task owns which device. */
  readonly ownership: Ownership;
  /** Client leases on devices (POST /devices/{id}/lease); a change is a device event, so state follows. */
  readonly leases: Leases;
  readonly completedTaskBuffer: number;
  private shutdownPromise: Promise<void> | null = null;
  /** What a proxy's lifecycle members (connect, startStreaming …) call. */
  private readonly ops: DeviceOps = {
    connectDevice: (id) => this.connectDevice(id),
    disconnectDevice: (id) => this.disconnectDevice(id),
    startStreaming: (id, cb) => this.startStreaming(id, cb),
    stopStreaming: (id, timeoutMs) => this.stopStreaming(id, timeoutMs),
    removeDevice: (id) => this.removeDevice(id),
  };

  constructor(opts: LabDaemonOptions = {}) {
    this.parts = buildParts(opts);
    this.events = this.parts.events;
    this.ownership = this.parts.ownership;
    this.leases = this.parts.leases;
    this.completedTaskBuffer = this.parts.limits.completedTaskBuffer;
  }

  on<K extends keyof DaemonEvents>(type: K, fn: (e: DaemonEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  get closed(): boolean {
    return this.shutdownPromise !== null;
  }

  // ---------------------------------------------------------------- plugins

  /** Registers device and task classes by name; all or nothing. */
  registerPlugins(plugins: { devices?: Record<string, DeviceClass>; tasks?: Record<string, TaskClass> }): void {
    this.parts.registry.register(plugins);
  }
  deviceTypeNames(): string[] {
    return this.parts.registry.deviceTypeNames();
  }
  taskTypeNames(): string[] {
    return this.parts.registry.taskTypeNames();
  }
  getDeviceClass(type: string): DeviceClass | undefined {
    return this.parts.registry.deviceClass(type);
  }
  getTaskClass(type: string): TaskClass | undefined {
    return this.parts.registry.taskClass(type);
  }

  // ---------------------------------------------------------------- devices

  /** Constructs a device (not connected) and returns its serialising proxy. */
  addDevice<T extends object = any>(
    deviceId: string,
    deviceType: string,
    params: Record<string, unknown> = {},
    opts: AddDeviceOptions = {},
  ): DeviceProxy<T> {
    this.assertOpen();
    return createDevice(this.parts, this.ops, deviceId, deviceType, params, opts).proxy as DeviceProxy<T>;
  }

  /** The device's serialising proxy. */
  getDevice<T extends object = any>(deviceId: string): DeviceProxy<T> {
    return this.parts.devices.entry(deviceId).proxy as DeviceProxy<T>;
  }

  hasDevice(deviceId: string): boolean {
    return this.parts.devices.has(deviceId);
  }

  /** The unwrapped instance, for introspection only (calls on it bypass the device's queue). */
  getDeviceInstance(deviceId: string): object {
    return this.parts.devices.entry(deviceId).instance;
  }

  listDevices(): DeviceState[] {
    return this.parts.devices.ids().map((id) => this.deviceState(id));
  }

  /** Tracked state: answers at once, even while the device is busy. */
  deviceState(device: DeviceRef): DeviceState {
    const e = this.parts.devices.entry(device);
    return {
      deviceId: e.id,
      deviceType: e.type,
      connected: e.connected,
      streaming: e.hub.streaming,
      busy: e.queue.isBusy,
      pending: e.queue.pending,
      subscribers: e.hub.subscriberCount,
      streamStartedBy: e.hub.startedBy,
      lastSequence: e.hub.lastSequence,
      callTimeoutMs: e.callTimeoutMs,
      ownedBy: this.ownership.ownerOf(e.id),
      lease: this.leases.info(e.id),
      lastForcedRelease: this.leases.lastForced(e.id),
    };
  }

  /** Stops its stream, disconnects it and forgets it. Refused while a running task uses it. */
  async removeDevice(device: DeviceRef, opts: Bounded = {}): Promise<void> {
    return removeDevice(this.parts, this.parts.devices.entry(device), opts);
  }

  /** Calls `connect()` in the device's queue; with `timeoutMs`, a hung connect is cleaned up by a bounded disconnect. */
  async connectDevice(device: DeviceRef, opts: Bounded = {}): Promise<void> {
    return connectDevice(this.parts, this.parts.devices.entry(device), opts);
  }

  /** Stops the device's stream, then calls `disconnect()`; a timeout marks it disconnected and rejects. */
  async disconnectDevice(device: DeviceRef, opts: Bounded = {}): Promise<void> {
    return disconnectDevice(this.parts, this.parts.devices.entry(device), opts);
  }

  /**
   * Calls a public method by name (private names, getters, lifecycle methods and anything inherited from
   * Object are refused), with positional `args` or `{ args, kwargs }`: keyword arguments are bound by
   * parameter name and everything is validated exactly as for POST /call.
   */
  call(
    device: DeviceRef,
    method: string,
    args: unknown[] | CallArguments = [],
    opts: CallOptions = {},
  ): Promise<unknown> {
    return callDevice(this.parts, device, method, args, opts);
  }

  /** The methods `call` accepts, with their parameters (names, JSON types, defaults, schemas) and docs. */
  describeMethods(device: DeviceRef): MethodInfo[] {
    return describeMethods(this.parts.devices.entry(device).instance);
  }

  /** The device has a stream to offer (a startStreaming method). */
  canStream(device: DeviceRef): boolean {
    return canStream(this.parts.devices.entry(device));
  }

  /** The device forwards its instrument's service requests (an attachServiceRequests method): they come
   * as `srq` events, and the server's device stream carries them as `device_srq`. */
  forwardsServiceRequests(device: DeviceRef): boolean {
    return forwardsServiceRequests(this.parts.devices.entry(device));
  }

  /** The device's own stream counters (getStreamStats()), or null when it keeps none. */
  streamStats(device: DeviceRef): Record<string, unknown> | null {
    return streamStats(this.parts.devices.entry(device));
  }

  // ---------------------------------------------------------------- claims

  /** The task whose claim holds the device, or null: the one answer to "which task owns this device". */
  ownerOf(deviceId: string): string | null {
    return this.parts.claims.ownerOf(deviceId);
  }

  /** DeviceInUse (409) while a task owns the device; `suffix` completes the message (" and cannot be …"). */
  assertNotOwned(deviceId: string, suffix = ""): void {
    this.parts.claims.assertNotOwned(deviceId, suffix);
  }

  /** A running task that lists the device, whether its own claim or another's holds it, or null. */
  taskUsing(deviceId: string): string | null {
    return this.parts.claims.taskUsing(deviceId);
  }

  // ---------------------------------------------------------------- streaming

  /**
   * Subscribes `cb` to the device stream and marks the stream as started by local code: it runs until
   * `stopStreaming`, whoever else subscribes or leaves.
   */
  startStreaming(device: DeviceRef, cb: StreamCallback, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (typeof cb !== "function") throw new InvalidRequestError("startStreaming needs a callback function");
    const e = this.streamable(device);
    return e.hub.subscribe(cb, { ...opts, local: true });
  }

  /** Subscribes `cb`; starts the stream if needed, and the last such subscriber out stops what it started. */
  subscribe(device: DeviceRef, cb: StreamCallback, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (typeof cb !== "function") throw new InvalidRequestError("subscribe needs a callback function");
    return this.streamable(device).hub.subscribe(cb, opts);
  }

  // A device being removed starts no stream: nothing would ever stop it once it is gone.
  private streamable(device: DeviceRef): DeviceEntry {
    const e = this.parts.devices.entry(device);
    this.parts.devices.assertOpen();
    if (e.removing)
      throw new DeviceNotFoundError(`No device found with ID: '${e.id}' (it is being removed)`, { device_id: e.id });
    return e;
  }

  /** Sees the device's payloads whenever it streams, without starting it or keeping it alive; returns the stop. */
  observeStream(device: DeviceRef, cb: StreamCallback): () => void {
    if (typeof cb !== "function") throw new InvalidRequestError("observeStream needs a callback function");
    return this.parts.devices.entry(device).hub.observe(cb);
  }

  /**
   * For a client whose subscription or recording would start the device's stream: starting it is a command,
   * so a lease on the device needs its id; joining a stream that already runs is a read.
   */
  assertClientMayStartStream(device: DeviceRef, leaseId: string | undefined): void {
    const e = this.parts.devices.entry(device);
    if (!e.hub.streaming) this.leases.assertMay(e.id, leaseId, " and its stream cannot be started");
  }

  /** Stops the device stream for everyone; harmless when not streaming. */
  async stopStreaming(device: DeviceRef, timeoutMs = DEFAULT_STOP_TIMEOUT_MS, opts: ClientOptions = {}): Promise<void> {
    const e = this.parts.devices.entry(device);
    const guard = clientGuard(opts, " and its stream cannot be stopped");
    if (guard !== null) this.parts.claims.assertClient(e.id, guard);
    // A stop that first waits for a start under way is checked again after that wait.
    const admit = guard === null ? undefined : () => this.parts.claims.assertClient(e.id, guard);
    await e.hub.stop({ type: "StreamStopped", message: `stream of device '${e.id}' was stopped` }, timeoutMs, admit);
  }

  // ---------------------------------------------------------------- tasks

  /** Constructs the task once, validates it, and starts `run(ctx)`. Nothing is stored if any step fails. */
  executeTask(
    taskId: string,
    taskType: string,
    params: Record<string, unknown> = {},
    opts: ExecuteTaskOptions = {},
  ): TaskHandle {
    this.assertOpen();
    return admitTask(this.parts, this, taskId, taskType, params, opts);
  }

  getTask(taskId: string): TaskHandle {
    return this.parts.tasks.handle(taskId);
  }

  hasTask(taskId: string): boolean {
    return this.parts.tasks.has(taskId);
  }

  listTasks(): TaskHandle[] {
    return this.parts.tasks.list();
  }

  // ---------------------------------------------------------------- scoped helpers

  /** `await using dev = await daemon.deviceContext(...)`: added and connected; disconnected and removed on exit. */
  async deviceContext<T extends object = any>(
    deviceId: string,
    deviceType: string,
    params: Record<string, unknown> = {},
    opts: { connectTimeoutMs?: number; callTimeoutMs?: number } = {},
  ): Promise<DeviceProxy<T> & AsyncDisposable> {
    const proxy = this.addDevice<T>(deviceId, deviceType, params, { callTimeoutMs: opts.callTimeoutMs });
    this.parts.devices.entry(deviceId).disposable = true;
    try {
      await this.connectDevice(deviceId, { timeoutMs: opts.connectTimeoutMs });
    } catch (err) {
      await this.removeDevice(deviceId).catch(() => {});
      throw err;
    }
    return proxy as DeviceProxy<T> & AsyncDisposable;
  }

  /** `await using h = daemon.taskContext(...)`: the task is cancelled on exit if still running. */
  taskContext(taskId: string, taskType: string, params: Record<string, unknown> = {}): TaskHandle & AsyncDisposable {
    const h = this.executeTask(taskId, taskType, params) as TaskHandle & AsyncDisposable;
    Object.defineProperty(h, Symbol.asyncDispose, {
      value: async () => {
        if (h.cancel()) await withDeadline(h.settled, CLEANUP_TIMEOUT_MS);
      },
    });
    return h;
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Stops streams, cancels tasks and waits for them, disconnects connected devices — all within
   * `timeoutMs` in total. Idempotent: later calls return the first call's promise.
   */
  shutdown(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.shutdownPromise ??= shutdownDaemon(this.parts, opts.timeoutMs ?? 2000, (e, timeoutMs) =>
      this.disconnectDevice(e.id, { timeoutMs }),
    );
    return this.shutdownPromise;
  }

  /** Reported as an `error` event; the server's error store keeps the last one per device. */
  recordDeviceError(
    deviceId: string,
    error: unknown,
    origin: ErrorOrigin,
    context: Record<string, unknown> = {},
  ): void {
    this.parts.failures.device(deviceId, error, origin, context);
  }

  private assertOpen(): void {
    if (this.shutdownPromise) throw new DaemonClosedError("The daemon has been shut down.");
  }
}

export { LabDaemonError };
