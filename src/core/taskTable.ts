// The daemon's task handles by id: the running ones and a bounded number of finished ones, the
// oldest-finished evicted first; and which running task uses a device.
import { TaskNotFoundError } from "./errors.ts";
import type { TaskHandle } from "./tasks.ts";
import { clip } from "./clip.ts";

export class TaskTable {
  private readonly byId = new Map<string, TaskHandle>();
  private finishedOrder: TaskHandle[] = [];
  private runningCount = 0;

  constructor(private readonly completedTaskBuffer: number) {}

  /** Tasks started and not yet settled. */
  get running(): number {
    return this.runningCount;
  }

  get(taskId: string): TaskHandle | undefined {
    return this.byId.get(taskId);
  }

  /** The handle, or TaskNotFound. */
  handle(taskId: string): TaskHandle {
    const h = typeof taskId === "string" ? this.byId.get(taskId) : undefined;
    if (!h)
      throw new TaskNotFoundError(`No task found with ID: '${clip(String(taskId), 140)}'`, {
        task_id: clip(String(taskId), 140),
      });
    return h;
  }

  has(taskId: string): boolean {
    return this.byId.has(taskId);
  }

  list(): TaskHandle[] {
    return [...this.byId.values()];
  }

  /** Stores a started handle, replacing a finished one of the same id. */
  add(handle: TaskHandle): void {
    const old = this.byId.get(handle.taskId);
    if (old) this.finishedOrder = this.finishedOrder.filter((h) => h !== old);
    this.byId.set(handle.taskId, handle);
    this.runningCount++;
  }

  /** The handle reached a final status: kept among the finished ones, the oldest beyond the buffer dropped. */
  settled(h: TaskHandle): void {
    this.runningCount--;
    this.finishedOrder.push(h);
    while (this.finishedOrder.length > this.completedTaskBuffer) {
      const old = this.finishedOrder.shift()!;
      if (this.byId.get(old.taskId) === old) this.byId.delete(old.taskId);
    }
  }

  /** A running task whose device_ids name the device (it may work on it under another task's claim), or null. */
  runningUsing(deviceId: string): string | null {
    for (const h of this.byId.values()) if (h.isRunning() && h.deviceIds.includes(deviceId)) return h.taskId;
    return null;
  }
}
