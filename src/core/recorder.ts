// How a task's ctx.record reaches whatever keeps data (a server's data directory) without core knowing
// about files: the data layer registers a recorder for the daemon.
import type { LabDaemon } from "./daemon.ts";

export interface TaskRecorder {
  /** Validates at once (throws TypeError/InvalidRequestError); the write itself happens later, off the event loop. */
  record(taskId: string, name: string, data: unknown, attrs?: Record<string, unknown>): void;
}

const recorders = new WeakMap<LabDaemon, TaskRecorder>();

export function setTaskRecorder(daemon: LabDaemon, recorder: TaskRecorder | null): void {
  if (recorder) recorders.set(daemon, recorder);
  else recorders.delete(daemon);
}

export function taskRecorder(daemon: LabDaemon): TaskRecorder | undefined {
  return recorders.get(daemon);
}
