// LabDaemon: the registry of device and task classes and instances, per-device serialisation,
// tracked lifecycle state, stream fan-out, tasks and a bounded shutdown. No HTTP here.
import { withDeadline } from "./deadline.ts";
import { DeviceQueue, DEFAULT_QUEUE_LIMIT, type WhenStuck } from "./deviceQueue.ts";
import {
  BusyError,
  DaemonClosedError,
  TaskAbandonedError,
  DeviceCreationError,
  DeviceError,
  DeviceExistsError,
  DeviceInUseError,
  DeviceNotFoundError,
  DeviceTimeoutError,
  DeviceTypeNotFoundError,
  InvalidRequestError,
  InvalidTaskDefinitionError,
  LabDaemonError,
  MethodNotFoundError,
  TaskExistsError,
  TaskInstantiationError,
  TaskNotFoundError,
  TaskTypeNotFoundError,
  asError,
} from "./errors.ts";
import { Emitter, isoNow, type DaemonEvents, type DeviceEventKind, type ErrorOrigin } from "./events.ts";
import { checkId, isPlainObject } from "./ids.ts";
import { validateArguments } from "./methodPlan.ts";
import { LIFECYCLE_METHODS, lookupMethod, remoteDeclarationProblem } from "./methods.ts";
import { Leases, type ForcedRelease, type LeaseInfo } from "./leases.ts";
import { Ownership } from "./ownership.ts";
import { describeProblems, paramsProblems, paramsSchemaOf } from "./params.ts";
import { StreamHub, type StreamCallback, type SubscribeOptions, type Subscription } from "./streamHub.ts";
import { TaskHandle, type Task } from "./tasks.ts";

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

/** A client operation's check: no task may own the device, and a lease on it must be the client's. */
interface ClientGuard {
  /** Completes the refusal's message (" and cannot be connected"). */
  suffix: string;
  leaseId?: string;
}

const clientGuard = (opts: ClientOptions, suffix: string): ClientGuard | null =>
  opts.asClient ? { suffix, leaseId: opts.leaseId } : null;

interface DeviceEntry {
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

const DEFAULT_STOP_TIMEOUT_MS = 1000;
const CLEANUP_TIMEOUT_MS = 2000;
/** Bound on a device's startStreaming when it has no callTimeoutMs. */
const START_TIMEOUT_MS = 30_000;

export class LabDaemon {
  readonly events = new Emitter<DaemonEvents>();
  /** Which running task owns which device. */
  readonly ownership = new Ownership();
  /** Client leases on devices (POST /devices/{id}/lease); a change is a device event, so state follows. */
  readonly leases = new Leases((id, change) =>
    this.emitDevice(
      change === "acquired"
        ? "leased"
        : change === "renewed"
          ? "lease_renewed"
          : change === "forced"
            ? "lease_forced"
            : "lease_ended",
      id,
    ),
  );
  readonly completedTaskBuffer: number;
  private readonly callTimeoutMs: number;
  private readonly queueLimit: number;
  private readonly maxRunningTasks: number;
  private readonly deviceTypes = new Map<string, DeviceClass>();
  private readonly taskTypes = new Map<string, TaskClass>();
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly byObject = new WeakMap<object, DeviceEntry>();
  private readonly tasks = new Map<string, TaskHandle>();
  private finishedOrder: TaskHandle[] = [];
  private running = 0;
  private shutdownPromise: Promise<void> | null = null;
  /** Set during shutdown once tasks have ended (their cleanup may still drive devices until then). */
  private devicesClosed = false;

  constructor(opts: LabDaemonOptions = {}) {
    this.completedTaskBuffer = nonNegativeInt(opts.completedTaskBuffer ?? 20, "completedTaskBuffer");
    this.callTimeoutMs = nonNegativeInt(opts.callTimeoutMs ?? 0, "callTimeoutMs");
    this.queueLimit = nonNegativeInt(opts.queueLimit ?? DEFAULT_QUEUE_LIMIT, "queueLimit");
    this.maxRunningTasks = nonNegativeInt(opts.maxRunningTasks ?? 1000, "maxRunningTasks");
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
    const devices = Object.entries(plugins.devices ?? {});
    const tasks = Object.entries(plugins.tasks ?? {});
    for (const [name, cls] of devices) {
      checkId("device type", name);
      if (typeof cls !== "function")
        throw new InvalidRequestError(`Device type '${name}' is not a class.`, { device_type: name });
      if (this.deviceTypes.has(name))
        throw new DeviceExistsError(`Device type '${name}' is already registered.`, { device_type: name });
      checkParamsSchema(cls, `Device type '${name}'`, { device_type: name });
      const remote = remoteDeclarationProblem(cls);
      if (remote) throw new InvalidRequestError(`Device type '${name}': ${remote}`, { device_type: name });
    }
    for (const [name, cls] of tasks) {
      checkId("task type", name);
      if (typeof cls !== "function")
        throw new InvalidRequestError(`Task type '${name}' is not a class.`, { task_type: name });
      if (this.taskTypes.has(name))
        throw new TaskExistsError(`Task type '${name}' is already registered.`, { task_type: name });
      checkParamsSchema(cls, `Task type '${name}'`, { task_type: name });
    }
    for (const [name, cls] of devices) this.deviceTypes.set(name, cls);
    for (const [name, cls] of tasks) this.taskTypes.set(name, cls);
  }

  deviceTypeNames(): string[] {
    return [...this.deviceTypes.keys()];
  }
  taskTypeNames(): string[] {
    return [...this.taskTypes.keys()];
  }
  getDeviceClass(type: string): DeviceClass | undefined {
    return this.deviceTypes.get(type);
  }
  getTaskClass(type: string): TaskClass | undefined {
    return this.taskTypes.get(type);
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
    checkId("device", deviceId);
    if (!isPlainObject(params))
      throw new InvalidRequestError(`params for device '${deviceId}' must be an object`, { device_id: deviceId });
    if (this.devices.has(deviceId))
      throw new DeviceExistsError(`Device with ID '${deviceId}' already exists.`, { device_id: deviceId });
    const Cls = this.deviceTypes.get(deviceType);
    if (!Cls) {
      throw new DeviceTypeNotFoundError(
        `Unknown device type: '${String(deviceType).slice(0, 140)}'. Is the plugin registered?`,
        { device_type: String(deviceType).slice(0, 140) },
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
      queue: new DeviceQueue(deviceId, this.queueLimit),
      hub: null as unknown as StreamHub,
      connected: false,
      callTimeoutMs: nonNegativeInt(opts.callTimeoutMs ?? this.callTimeoutMs, "callTimeoutMs"),
      disposable: false,
      removing: false,
    };
    entry.hub = this.makeHub(entry);
    entry.proxy = this.makeProxy(entry);
    this.devices.set(deviceId, entry);
    this.byObject.set(instance, entry);
    this.byObject.set(entry.proxy, entry);
    this.emitDevice("added", deviceId);
    return entry.proxy as DeviceProxy<T>;
  }

  /** The device's serialising proxy. */
  getDevice<T extends object = any>(deviceId: string): DeviceProxy<T> {
    return this.entry(deviceId).proxy as DeviceProxy<T>;
  }

  hasDevice(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  /** The unwrapped instance, for introspection only (calls on it bypass the device's queue). */
  getDeviceInstance(deviceId: string): object {
    return this.entry(deviceId).instance;
  }

  listDevices(): DeviceState[] {
    return [...this.devices.keys()].map((id) => this.deviceState(id));
  }

  /** Tracked state: answers at once, even while the device is busy. */
  deviceState(device: DeviceRef): DeviceState {
    const e = this.entry(device);
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
  async removeDevice(device: DeviceRef, opts: { timeoutMs?: number } & ClientOptions = {}): Promise<void> {
    const e = this.entry(device);
    if (opts.asClient) this.leases.assertMay(e.id, opts.leaseId, " and cannot be removed without its lease");
    const user = this.runningTaskUsing(e.id);
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
    if (e.connected) await this.disconnectDevice(e.id, { timeoutMs }).catch(() => {});
    if (this.devices.get(e.id) !== e) return;
    this.devices.delete(e.id);
    this.leases.drop(e.id);
    e.queue.close(new DeviceNotFoundError(`No device found with ID: '${e.id}' (it was removed)`, { device_id: e.id }));
    this.emitDevice("removed", e.id);
  }

  /** Calls `connect()` in the device's queue; with `timeoutMs`, a hung connect is cleaned up by a bounded disconnect. */
  async connectDevice(device: DeviceRef, opts: { timeoutMs?: number } & ClientOptions = {}): Promise<void> {
    const e = this.entry(device);
    this.assertDevicesOpen();
    const guard = clientGuard(opts, " and cannot be connected");
    if (guard !== null) this.assertClient(e.id, guard);
    if (e.connected) return;
    const connect = e.instance.connect;
    if (typeof connect === "function") {
      try {
        await e.queue.run(
          this.admitted(e, guard, () => connect.call(e.instance)),
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
          this.recordEntryError(e, timeout, "device", { operation: "connect" });
          throw timeout;
        }
        this.recordEntryError(e, err, "device", { operation: "connect" });
        throw err;
      }
    }
    e.connected = true;
    this.emitDevice("connected", e.id);
  }

  /** Stops the device's stream, then calls `disconnect()`; a timeout marks it disconnected and rejects. */
  async disconnectDevice(device: DeviceRef, opts: { timeoutMs?: number } & ClientOptions = {}): Promise<void> {
    const e = this.entry(device);
    const guard = clientGuard(opts, " and cannot be disconnected");
    if (guard !== null) this.assertClient(e.id, guard);
    if (e.hub.streaming) {
      await e.hub
        .stop({ type: "DeviceDisconnected", message: `device '${e.id}' was disconnected` }, opts.timeoutMs)
        .catch(() => {});
    }
    try {
      // A device stuck in a call that timed out is disconnected beside that call: closing the instrument
      // is what aborts the hung I/O.
      await this.callLifecycle(e, "disconnect", [], opts.timeoutMs ?? 0, guard, "beside");
    } catch (err) {
      if (err instanceof DeviceInUseError) throw err;
      if (err instanceof DeviceTimeoutError) this.markDisconnected(e);
      this.recordEntryError(e, err, "device", { operation: "disconnect" });
      throw err;
    }
    this.markDisconnected(e);
  }

  /**
   * Calls a public method by name (the server's entry point): private names, getters, lifecycle methods
   * and anything inherited from Object are refused.
   */
  async call(
    device: DeviceRef,
    method: string,
    args: unknown[] = [],
    opts: {
      timeoutMs?: number /** Used when neither timeoutMs nor the device's callTimeoutMs is set. */;
      defaultTimeoutMs?: number;
    } & ClientOptions = {},
  ): Promise<unknown> {
    const e = this.entry(device);
    this.assertDevicesOpen();
    const guard = clientGuard(opts, "");
    if (guard !== null) this.assertClient(e.id, guard);
    if (typeof method !== "string" || method.length === 0)
      throw new InvalidRequestError("Method name is required", { device_id: e.id });
    const found = lookupMethod(e.instance, method);
    if (!found.ok) {
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
            `Method '${method.slice(0, 140)}' of device '${e.id}' is not remote (its class lists the remote ones in static remote)`,
            ctx,
          );
        default:
          throw new MethodNotFoundError(`Method '${method.slice(0, 140)}' not found on device '${e.id}'`, ctx);
      }
    }
    const fn = found.fn;
    validateArguments(e.instance, method, fn, args, e.id);
    try {
      return await e.queue.run(
        this.admitted(e, guard, () => fn.apply(e.instance, args)),
        method,
        opts.timeoutMs ?? (e.callTimeoutMs || opts.defaultTimeoutMs || 0),
      );
    } catch (err) {
      this.recordEntryError(e, err, "device", { method });
      throw err;
    }
  }

  // ---------------------------------------------------------------- streaming

  /**
   * Subscribes `cb` to the device stream and marks the stream as started by local code: it runs until
   * `stopStreaming`, whoever else subscribes or leaves.
   */
  startStreaming(device: DeviceRef, cb: StreamCallback, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (typeof cb !== "function") throw new InvalidRequestError("startStreaming needs a callback function");
    const e = this.entry(device);
    this.assertDevicesOpen();
    return e.hub.subscribe(cb, { ...opts, local: true });
  }

  /** Subscribes `cb`; starts the stream if needed, and the last such subscriber out stops what it started. */
  subscribe(device: DeviceRef, cb: StreamCallback, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (typeof cb !== "function") throw new InvalidRequestError("subscribe needs a callback function");
    const e = this.entry(device);
    this.assertDevicesOpen();
    return e.hub.subscribe(cb, opts);
  }

  /** Sees the device's payloads whenever it streams, without starting it or keeping it alive; returns the stop. */
  observeStream(device: DeviceRef, cb: StreamCallback): () => void {
    if (typeof cb !== "function") throw new InvalidRequestError("observeStream needs a callback function");
    return this.entry(device).hub.observe(cb);
  }

  /**
   * For a client whose subscription or recording would start the device's stream: starting it is a command,
   * so a lease on the device needs its id; joining a stream that already runs is a read.
   */
  assertClientMayStartStream(device: DeviceRef, leaseId: string | undefined): void {
    const e = this.entry(device);
    if (!e.hub.streaming) this.leases.assertMay(e.id, leaseId, " and its stream cannot be started");
  }

  /** Stops the device stream for everyone; harmless when not streaming. */
  async stopStreaming(device: DeviceRef, timeoutMs = DEFAULT_STOP_TIMEOUT_MS, opts: ClientOptions = {}): Promise<void> {
    const e = this.entry(device);
    const guard = clientGuard(opts, " and its stream cannot be stopped");
    if (guard !== null) this.assertClient(e.id, guard);
    // A stop that first waits for a start under way is checked again after that wait.
    const admit = guard === null ? undefined : () => this.assertClient(e.id, guard);
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
    checkId("task", taskId);
    if (!isPlainObject(params))
      throw new InvalidRequestError(`params for task '${taskId}' must be an object`, { task_id: taskId });
    const Cls = this.taskTypes.get(taskType);
    if (!Cls) {
      throw new TaskTypeNotFoundError(
        `Unknown task type: '${String(taskType).slice(0, 140)}'. Is the plugin registered?`,
        { task_id: taskId, task_type: String(taskType).slice(0, 140) },
      );
    }
    const old = this.tasks.get(taskId);
    if (old?.isRunning())
      throw new TaskExistsError(`Task with ID '${taskId}' is already running.`, { task_id: taskId });
    if (this.running >= this.maxRunningTasks) {
      throw new BusyError(
        `${this.running} tasks are running (limit ${this.maxRunningTasks}); try again when some have ended`,
        { task_id: taskId },
      );
    }
    const problems = paramsProblems(Cls, params);
    if (problems.length > 0) {
      throw this.instantiationFailure(
        taskId,
        taskType,
        new TaskInstantiationError(`Failed to instantiate task '${taskId}': ${describeProblems(problems)}`, {
          task_id: taskId,
          task_type: taskType,
          errors: problems,
        }),
        "params",
      );
    }
    let task: Task;
    try {
      task = new Cls(taskId, params);
    } catch (e) {
      const err = asError(e);
      throw this.instantiationFailure(
        taskId,
        taskType,
        new TaskInstantiationError(
          `Failed to instantiate task '${taskId}': ${err.message}`,
          { task_id: taskId, task_type: taskType },
          { cause: err },
        ),
        "instantiation",
        err,
      );
    }
    const deviceIds = this.validateDeviceIds(taskId, task);
    this.checkRequiredMethods(taskId, taskType, task);
    // A task a client starts may use a leased device only with that device's lease.
    if (opts.asClient)
      for (const id of deviceIds)
        this.leases.assertMay(id, opts.leaseId, `: task '${taskId}' can claim it only when started with its lease`);
    opts.beforeStart?.({ taskId, taskType, deviceIds });
    const claim = opts.exclusive
      ? this.ownership.claim(taskId, taskType, deviceIds)
      : this.ownership.claimFree(taskId, taskType, deviceIds);
    const handle = new TaskHandle(taskId, taskType, task, deviceIds, this, {
      emit: (kind, h, extra) =>
        this.events.emit("task", {
          kind,
          taskId: h.taskId,
          taskType: h.taskType,
          timestamp: isoNow(),
          ...extra,
        }),
      failed: (h, error) => this.recordTaskError(h, error),
      beforeRun: (signal) => this.settleClaimed(claim?.deviceIds ?? [], signal),
      settled: (h) => {
        if (claim) this.ownership.release(claim);
        this.taskSettled(h);
      },
    });
    handle.params = params;
    if (old) this.finishedOrder = this.finishedOrder.filter((h) => h !== old);
    this.tasks.set(taskId, handle);
    this.running++;
    handle.start();
    return handle;
  }

  getTask(taskId: string): TaskHandle {
    const h = typeof taskId === "string" ? this.tasks.get(taskId) : undefined;
    if (!h)
      throw new TaskNotFoundError(`No task found with ID: '${String(taskId).slice(0, 140)}'`, {
        task_id: String(taskId).slice(0, 140),
      });
    return h;
  }

  hasTask(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  listTasks(): TaskHandle[] {
    return [...this.tasks.values()];
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
    const e = this.entry(deviceId);
    e.disposable = true;
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
    this.shutdownPromise ??= this.doShutdown(opts.timeoutMs ?? 2000);
    return this.shutdownPromise;
  }

  private async doShutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const left = () => Math.max(1, deadline - Date.now());
    const entries = [...this.devices.values()];
    await withDeadline(
      Promise.all(
        entries.map((e) =>
          e.hub.stop({ type: "DaemonShutdown", message: "the daemon is shutting down" }, left()).catch(() => {}),
        ),
      ),
      left(),
    );
    const running = [...this.tasks.values()].filter((h) => h.isRunning());
    for (const h of running) h.cancel();
    await withDeadline(Promise.all(running.map((h) => h.settled)), left());
    // A task that ignored its cancel is left behind: say which, since its cleanup never ran in time.
    for (const h of running.filter((r) => r.isRunning())) {
      const error = new TaskAbandonedError(
        `Task '${h.taskId}' (${h.taskType}) did not end within the shutdown bound of ${timeoutMs} ms ` +
          "after it was cancelled: it was abandoned, and its cleanup (finally blocks) had not run",
        { task_id: h.taskId, timeout_ms: timeoutMs },
      );
      this.events.emit("error", {
        scope: "task",
        id: h.taskId,
        origin: "framework",
        error,
        context: { task_type: h.taskType, phase: "shutdown", timeout_ms: timeoutMs },
        timestamp: isoNow(),
      });
    }
    // From here on nothing may drive the instruments again: only the disconnects below.
    this.devicesClosed = true;
    this.leases.clear();
    await withDeadline(
      Promise.all(
        entries
          .filter((e) => e.connected)
          .map((e) => this.disconnectDevice(e.id, { timeoutMs: left() }).catch(() => {})),
      ),
      left(),
    );
  }

  // ---------------------------------------------------------------- internals

  private entry(device: DeviceRef): DeviceEntry {
    let e: DeviceEntry | undefined;
    if (typeof device === "string") e = this.devices.get(device);
    else if (device !== null && typeof device === "object") {
      e = this.byObject.get(device);
      if (e && this.devices.get(e.id) !== e) e = undefined;
    } else {
      throw new InvalidRequestError("Device must be given by its string id or its instance.");
    }
    if (!e) {
      const id = typeof device === "string" ? device.slice(0, 140) : "<unregistered instance>";
      throw new DeviceNotFoundError(`No device found with ID: '${id}'`, { device_id: id });
    }
    return e;
  }

  private assertOpen(): void {
    if (this.shutdownPromise) throw new DaemonClosedError("The daemon has been shut down.");
  }

  /** Calls, connects and streams are refused once shutdown has ended the tasks (disconnect stays allowed). */
  private assertDevicesOpen(): void {
    if (this.devicesClosed)
      throw new DaemonClosedError("The daemon has been shut down: its devices take no more commands.");
  }

  private callLifecycle(
    e: DeviceEntry,
    name: string,
    args: unknown[],
    timeoutMs: number,
    guard: ClientGuard | null = null,
    whenStuck: WhenStuck = "fail",
  ): Promise<unknown> {
    const fn = e.instance[name];
    if (typeof fn !== "function") return Promise.resolve();
    return e.queue.run(
      this.admitted(e, guard, () => fn.apply(e.instance, args)),
      name,
      timeoutMs,
      whenStuck,
    );
  }

  /**
   * `fn`, refused (DeviceInUse) if a task owns the device by the time it reaches the front of the
   * device's queue; `guard` null: an operation of a task or of in-process code, never refused.
   */
  private admitted<T>(e: DeviceEntry, guard: ClientGuard | null, fn: () => T): () => T {
    if (guard === null) return fn;
    return () => {
      this.assertClient(e.id, guard);
      return fn();
    };
  }

  /** DeviceInUse while a task owns the device; DeviceLeased while someone else's lease holds it. */
  private assertClient(deviceId: string, guard: ClientGuard): void {
    this.ownership.assertFree(deviceId, guard.suffix);
    this.leases.assertMay(deviceId, guard.leaseId, guard.suffix);
  }

  /**
   * Resolves once what each claimed device was doing when the claim was made has finished (client
   * operations queued behind it are refused when they reach the front), so run() never starts while a
   * client's disconnect is still under way. Cancelling the task ends the wait; a device that fails the
   * wait (removed, stuck) lets run() start and meet that failure on its own first call.
   */
  private settleClaimed(ids: readonly string[], signal: AbortSignal): Promise<void> | undefined {
    const busy = ids.map((id) => this.devices.get(id)).filter((e): e is DeviceEntry => e?.queue.isBusy === true);
    if (busy.length === 0) return undefined;
    return this.waitForBarrier(busy, signal);
  }

  private async waitForBarrier(busy: DeviceEntry[], signal: AbortSignal): Promise<void> {
    const barrier = Promise.all(busy.map((e) => e.queue.run(() => undefined, "task claim").catch(() => {})));
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    await Promise.race([barrier, aborted]);
    signal.removeEventListener("abort", onAbort);
  }

  private markDisconnected(e: DeviceEntry): void {
    if (!e.connected) return;
    e.connected = false;
    this.emitDevice("disconnected", e.id);
  }

  private makeHub(e: DeviceEntry): StreamHub {
    return new StreamHub(e.id, {
      start: async (deliver) => {
        if (typeof e.instance.startStreaming !== "function") {
          throw new DeviceError(`Device '${e.id}' does not support streaming.`, { device_id: e.id });
        }
        try {
          // Bounded even for a device without a call timeout: a start that never returns must not leave
          // every subscriber (and a stop waiting behind it) hanging.
          await this.callLifecycle(e, "startStreaming", [deliver], e.callTimeoutMs || START_TIMEOUT_MS);
        } catch (err) {
          this.recordEntryError(e, err, "device", { operation: "startStreaming" });
          // A start that timed out may still come up later, for nobody: queued behind it, a stop follows.
          if (err instanceof DeviceTimeoutError)
            void this.callLifecycle(e, "stopStreaming", [], CLEANUP_TIMEOUT_MS, null, "wait").catch(() => {});
          throw err;
        }
        this.emitDevice("streaming_started", e.id);
      },
      stop: async (timeoutMs = DEFAULT_STOP_TIMEOUT_MS) => {
        try {
          // A little beyond the device's own bound, so a device that honours it is never cut short.
          await this.callLifecycle(e, "stopStreaming", [timeoutMs], timeoutMs + 250);
        } catch (err) {
          this.recordEntryError(e, err, "device", { operation: "stopStreaming" });
        }
        this.emitDevice("streaming_stopped", e.id);
      },
      onCallbackError: (err, subscriberId) => this.recordEntryError(e, err, "callback", { subscriber: subscriberId }),
    });
  }

  private makeProxy(e: DeviceEntry): object {
    const wrappers = new Map<string, { fn: Function; wrapper: Function }>();
    const daemon = this;
    const lifecycle: Record<string, Function> = {
      connect: () => daemon.connectDevice(e.id),
      disconnect: () => daemon.disconnectDevice(e.id),
      isConnected: () => e.connected,
      isStreaming: () => e.hub.streaming,
      startStreaming: (cb: StreamCallback) => daemon.startStreaming(e.id, cb),
      stopStreaming: (timeoutMs?: number) => daemon.stopStreaming(e.id, timeoutMs),
    };
    return new Proxy(e.instance, {
      get(target, prop) {
        if (typeof prop === "symbol") {
          if (prop === Symbol.asyncDispose && e.disposable) return () => daemon.removeDevice(e.id);
          return Reflect.get(target, prop, target);
        }
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (Object.hasOwn(lifecycle, prop)) return lifecycle[prop];
        const cached = wrappers.get(prop);
        if (cached && cached.fn === value) return cached.wrapper;
        const wrapper = (...args: unknown[]) => {
          if (daemon.devices.get(e.id) !== e) {
            return Promise.reject(
              new DeviceNotFoundError(`No device found with ID: '${e.id}' (it was removed)`, { device_id: e.id }),
            );
          }
          if (daemon.devicesClosed) {
            return Promise.reject(
              new DaemonClosedError("The daemon has been shut down: its devices take no more commands."),
            );
          }
          try {
            validateArguments(target, prop, value, args, e.id);
          } catch (err) {
            return Promise.reject(err);
          }
          // Inside a task (the device is claimed), where the call came from is kept, so a failure's
          // traceback shows the task's own frame; elsewhere the hot path does not pay for a stack.
          const site = daemon.ownership.ownerOf(e.id) !== null ? callSite(wrapper) : null;
          return e.queue
            .run(() => value.apply(target, args), prop, e.callTimeoutMs)
            .catch((err) => {
              if (site) appendCallSite(err, site);
              daemon.recordEntryError(e, err, "device", { method: prop });
              throw err;
            });
        };
        wrappers.set(prop, { fn: value, wrapper });
        return wrapper;
      },
    });
  }

  private validateDeviceIds(taskId: string, task: Task): string[] {
    if (task === null || typeof task !== "object" || typeof task.run !== "function") {
      throw new InvalidTaskDefinitionError(`Task '${taskId}': the task class must define run(ctx).`, {
        task_id: taskId,
      });
    }
    const ids = task.deviceIds ?? [];
    if (!Array.isArray(ids)) {
      const got = ids === null ? "null" : typeof ids;
      throw new InvalidTaskDefinitionError(`Task '${taskId}': device_ids must be a list of strings, got ${got}`, {
        task_id: taskId,
      });
    }
    for (const id of ids) {
      if (typeof id !== "string") {
        throw new InvalidTaskDefinitionError(`Task '${taskId}': device_ids must contain only strings`, {
          task_id: taskId,
        });
      }
      const entry = this.devices.get(id);
      if (!entry || entry.removing) {
        throw new DeviceNotFoundError(
          `Task '${taskId}' needs device '${id.slice(0, 140)}', which is ${entry ? "being removed" : "not registered"}`,
          { task_id: taskId, device_id: id.slice(0, 140) },
        );
      }
    }
    return [...new Set(ids)];
  }

  /**
   * A task's `requiredMethods` (device id → methods its run() calls there) against the registered
   * devices, so a sweep given a power meter as its laser fails before it starts, naming what is missing.
   */
  private checkRequiredMethods(taskId: string, taskType: string, task: Task): void {
    const required = task.requiredMethods;
    if (required === undefined) return;
    if (
      !isPlainObject(required) ||
      !Object.values(required).every((m) => Array.isArray(m) && m.every((n) => typeof n === "string"))
    ) {
      throw new InvalidTaskDefinitionError(
        `Task '${taskId}': requiredMethods must map device ids to lists of method names`,
        { task_id: taskId },
      );
    }
    const missing: { device_id: string; device_type: string; methods: string[] }[] = [];
    for (const [id, names] of Object.entries(required)) {
      const e = this.devices.get(id);
      if (!e || e.removing) {
        throw new DeviceNotFoundError(`Task '${taskId}' needs device '${id.slice(0, 140)}', which is not registered`, {
          task_id: taskId,
          device_id: id.slice(0, 140),
        });
      }
      const absent = names.filter(
        (n) => !LIFECYCLE_METHODS.has(n) && !lookupMethod(e.instance, n, { remoteOnly: false }).ok,
      );
      if (absent.length > 0) missing.push({ device_id: id, device_type: e.type, methods: absent });
    }
    if (missing.length === 0) return;
    const what = missing
      .map(
        (m) =>
          `device '${m.device_id}' (${m.device_type}) has no method${m.methods.length > 1 ? "s" : ""} ${m.methods.join(", ")}`,
      )
      .join("; ");
    throw this.instantiationFailure(
      taskId,
      taskType,
      new TaskInstantiationError(
        `Task '${taskId}' (${taskType}) cannot run: ${what}. Check which device each parameter names.`,
        { task_id: taskId, task_type: taskType, missing_methods: missing },
      ),
      "devices",
    );
  }

  /** Recorded as the task's error (as a constructor failure always was), then thrown by the caller. */
  private instantiationFailure(
    taskId: string,
    taskType: string,
    err: TaskInstantiationError,
    phase: string,
    cause: Error = err,
  ): TaskInstantiationError {
    this.recordStartError(taskId, cause, { task_type: taskType, phase });
    return err;
  }

  private runningTaskUsing(deviceId: string): string | null {
    for (const h of this.tasks.values()) if (h.isRunning() && h.deviceIds.includes(deviceId)) return h.taskId;
    return null;
  }

  private taskSettled(h: TaskHandle): void {
    this.running--;
    this.finishedOrder.push(h);
    while (this.finishedOrder.length > this.completedTaskBuffer) {
      const old = this.finishedOrder.shift()!;
      if (this.tasks.get(old.taskId) === old) this.tasks.delete(old.taskId);
    }
  }

  private emitDevice(kind: DeviceEventKind, deviceId: string): void {
    this.events.emit("device", { kind, deviceId, timestamp: isoNow() });
  }

  /** As recordDeviceError, unless the entry was removed meanwhile: a late failure must not land on a new device of that id. */
  private recordEntryError(
    e: DeviceEntry,
    error: unknown,
    origin: ErrorOrigin,
    context: Record<string, unknown> = {},
  ): void {
    // A refused call (queue full, owned by a task) says nothing about the instrument: it must not replace
    // its real last error.
    if (error instanceof BusyError || error instanceof DeviceInUseError) return;
    if (origin === "device" && error !== null && typeof error === "object" && !deviceFailures.has(error)) {
      deviceFailures.set(error, { device_id: e.id, ...context });
    }
    if (this.devices.get(e.id) === e) this.recordDeviceError(e.id, error, origin, context);
  }

  /** Reported as an `error` event; the server's error store keeps the last one per device. */
  recordDeviceError(
    deviceId: string,
    error: unknown,
    origin: ErrorOrigin,
    context: Record<string, unknown> = {},
  ): void {
    this.events.emit("error", {
      scope: "device",
      id: deviceId,
      origin,
      error: asError(error),
      context,
      timestamp: isoNow(),
    });
  }

  /**
   * A task's failure: a device's own error keeps its type, origin "device" and the device's id (and the
   * method) in its context, as the device's store has it; anything else is the framework's.
   */
  private recordTaskError(h: TaskHandle, error: Error): void {
    const device = deviceFailures.get(error);
    h.failure = { origin: device ? "device" : "framework", context: { task_type: h.taskType, ...device } };
    this.events.emit("error", {
      scope: "task",
      id: h.taskId,
      origin: h.failure.origin,
      error,
      context: h.failure.context,
      timestamp: isoNow(),
    });
  }

  private recordStartError(taskId: string, error: unknown, context: Record<string, unknown>): void {
    this.events.emit("error", {
      scope: "task",
      id: taskId,
      origin: "framework",
      error: asError(error),
      context,
      timestamp: isoNow(),
    });
  }
}

/** Errors a device threw (or its queue raised for it), with the device and method they came from. */
const deviceFailures = new WeakMap<object, Record<string, unknown>>();
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

/** A class's `static params`, when declared, must be a schema the daemon can check. */
function checkParamsSchema(cls: Function, what: string, context: Record<string, unknown>): void {
  try {
    paramsSchemaOf(cls);
  } catch (e) {
    throw new InvalidRequestError(`${what}: ${asError(e).message}`, context);
  }
}

function nonNegativeInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    throw new InvalidRequestError(`${name} must be a non-negative integer`);
  return v;
}

export { LabDaemonError };
