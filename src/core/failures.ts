// Device and task failures as `error` events, and which device (and method) each thrown error came from,
// so a task that fails on a device's error reports it as the device's.
import { BusyError, DeviceInUseError, DeviceLeasedError, TaskAbandonedError, asError } from "./errors.ts";
import type { DeviceEntry, DeviceTable } from "./deviceTable.ts";
import { isoNow, type DaemonEvents, type Emitter, type ErrorOrigin } from "./events.ts";
import type { TaskHandle } from "./tasks.ts";

/** Errors a device threw (or its queue raised for it), with the device and method they came from. */
const deviceFailures = new WeakMap<object, Record<string, unknown>>();

export class FailureReports {
  constructor(
    private readonly events: Emitter<DaemonEvents>,
    private readonly devices: DeviceTable,
  ) {}

  /** As device(), unless the entry was removed meanwhile: a late failure must not land on a new device of that id. */
  entry(e: DeviceEntry, error: unknown, origin: ErrorOrigin, context: Record<string, unknown> = {}): void {
    // A refused call (queue full, owned by a task, leased by someone else) says nothing about the
    // instrument: it must not replace its real last error.
    if (error instanceof BusyError || error instanceof DeviceInUseError || error instanceof DeviceLeasedError) return;
    if (origin === "device" && error !== null && typeof error === "object" && !deviceFailures.has(error)) {
      deviceFailures.set(error, { device_id: e.id, ...context });
    }
    if (this.devices.isCurrent(e)) this.device(e.id, error, origin, context);
  }

  /** Reported as an `error` event; the server's error store keeps the last one per device. */
  device(deviceId: string, error: unknown, origin: ErrorOrigin, context: Record<string, unknown> = {}): void {
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
  task(h: TaskHandle, error: Error): void {
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

  /** A task that failed before it started (parameters, constructor, devices). */
  taskStart(taskId: string, error: unknown, context: Record<string, unknown>): void {
    this.events.emit("error", {
      scope: "task",
      id: taskId,
      origin: "framework",
      error: asError(error),
      context,
      timestamp: isoNow(),
    });
  }

  /** A task shutdown gave up on: it ignored its cancel, so its cleanup never ran in time. */
  abandoned(h: TaskHandle, timeoutMs: number): void {
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
}
