// How a task's ctx.record reaches whatever keeps data (a server's data directory) without core knowing
// about files: the data layer registers a recorder for the daemon.
import type { LabDaemonApi } from "./daemonTypes.ts";

/** The daemon a recorder serves (any task handle type). */
type RecordingDaemon = LabDaemonApi<unknown>;

export interface TaskRecorder {
  /** Validates at once (throws TypeError/InvalidRequestError); the write itself happens later, off the event loop. */
  record(taskId: string, name: string, data: unknown, attrs?: Record<string, unknown>): void;
}

const recorders = new WeakMap<RecordingDaemon, TaskRecorder>();

export function setTaskRecorder(daemon: RecordingDaemon, recorder: TaskRecorder | null): void {
  if (recorder) recorders.set(daemon, recorder);
  else recorders.delete(daemon);
}

export function taskRecorder(daemon: RecordingDaemon): TaskRecorder | undefined {
  return recorders.get(daemon);
}
