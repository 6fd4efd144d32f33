// The last error per device and per task, fed by the daemon's `error` events. Bounded: task errors
// follow the completed-task buffer, device errors leave with their device.
import type { LabDaemon } from "../core/daemon.ts";
import type { ErrorEvent } from "../core/events.ts";
import type { StoredError } from "./schemas.ts";
import { jsonSafe } from "./json.ts";

export class ErrorStore {
  private readonly devices = new Map<string, StoredError>();
  private readonly tasks = new Map<string, StoredError>();
  private readonly taskCap: number;
  private unlisten: (() => void)[] = [];

  constructor(private readonly daemon: LabDaemon) {
    // At least one, so the failure of the task that just ended can always be read.
    this.taskCap = Math.max(1, daemon.completedTaskBuffer);
    this.listen();
  }

  /** Records the daemon's errors from now on (idempotent). */
  listen(): void {
    if (this.unlisten.length > 0) return;
    for (const id of this.devices.keys()) if (!this.daemon.hasDevice(id)) this.devices.delete(id);
    this.unlisten = [
      this.daemon.on("error", (e) => this.record(e)),
      this.daemon.on("device", (e) => {
        if (e.kind === "removed") this.devices.delete(e.deviceId);
      }),
    ];
  }

  /**
   * Stops listening (the server stopped): a daemon that outlives its server must not keep it alive. What is
   * stored stays, for a restarted server; a device removed meanwhile is forgotten when it listens again.
   */
  unlistenAll(): void {
    for (const off of this.unlisten) off();
    this.unlisten = [];
  }

  private record(e: ErrorEvent): void {
    const stored = storedError(e);
    if (e.scope === "device") {
      // A late failure of a call on a removed device must not resurrect its record.
      if (this.daemon.hasDevice(e.id)) this.devices.set(e.id, stored);
      return;
    }
    this.tasks.delete(e.id); // re-insert as newest
    this.tasks.set(e.id, stored);
    while (this.tasks.size > this.taskCap) this.tasks.delete(this.tasks.keys().next().value!);
  }

  deviceError(id: string): StoredError | null {
    return this.devices.get(id) ?? null;
  }
  taskError(id: string): StoredError | null {
    return this.tasks.get(id) ?? null;
  }
  /** True if there was one to clear. */
  clearDeviceError(id: string): boolean {
    return this.devices.delete(id);
  }
  clearTaskError(id: string): boolean {
    return this.tasks.delete(id);
  }
}

/** An error event as the wire (and the run catalogue) keeps it. */
export function storedError(e: ErrorEvent): StoredError {
  const idKey = e.scope === "device" ? "device_id" : "task_id";
  return {
    error: {
      type: e.error.name || "Error",
      message: e.error.message,
      origin: e.origin,
      timestamp: e.timestamp,
      traceback: e.error.stack ?? `${e.error.name}: ${e.error.message}`,
      context: jsonSafe({ [idKey]: e.id, ...e.context }) as Record<string, unknown>,
    },
  };
}
