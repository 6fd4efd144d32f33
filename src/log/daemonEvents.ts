// The daemon's events as log lines: task lifecycle, device connections and device errors, read from
// the daemon's event stream (the daemon itself knows nothing of logging).
import type { LabDaemon } from "../core/daemon.ts";
import type { DeviceEventKind, TaskEventKind } from "../core/events.ts";
import type { ServerLogger } from "./levels.ts";

const TASK_WORDS: Partial<Record<TaskEventKind, string>> = {
  started: "started",
  completed: "finished",
  cancelled: "cancelled",
  paused: "paused",
  resumed: "resumed",
};
const DEVICE_WORDS: Partial<Record<DeviceEventKind, string>> = {
  added: "added",
  removed: "removed",
  connected: "connected",
  disconnected: "disconnected",
  streaming_started: "started streaming",
  streaming_stopped: "stopped streaming",
  leased: "leased",
  lease_ended: "lease ended",
};

/** Logs the daemon's events from now on; returns the function that stops it. */
export function logDaemonEvents(daemon: LabDaemon, log: ServerLogger): () => void {
  const offs = [
    daemon.on("task", (e) => {
      const fields = { event: `task_${e.kind}`, task_id: e.taskId, task_type: e.taskType };
      if (e.kind === "failed") {
        // A failure shows at the default level too (warn ranks above info).
        log.warn(`task ${e.taskId} (${e.taskType}) failed: ${e.error?.type ?? "Error"}: ${e.error?.message ?? ""}`, {
          ...fields,
          error_type: e.error?.type,
          error_message: e.error?.message,
        });
        return;
      }
      const word = TASK_WORDS[e.kind];
      if (word) log.info(`task ${e.taskId} (${e.taskType}) ${word}`, fields);
    }),
    daemon.on("device", (e) => {
      if (e.kind === "lease_forced") {
        const f = daemon.deviceState(e.deviceId).lastForcedRelease;
        log.warn(
          `device ${e.deviceId}: ${f?.holder ?? "a"}'s lease was released by force (${f?.by ?? "administrator"})`,
          { event: "device_lease_forced", device_id: e.deviceId, holder: f?.holder },
        );
        return;
      }
      const word = DEVICE_WORDS[e.kind];
      if (word) log.info(`device ${e.deviceId} ${word}`, { event: `device_${e.kind}`, device_id: e.deviceId });
    }),
    daemon.on("error", (e) => {
      // A task's failure is logged with its lifecycle above.
      if (e.scope !== "device") return;
      const method = typeof e.context.method === "string" ? ` in ${e.context.method}()` : "";
      log.warn(`device ${e.id} error${method}: ${e.error.name}: ${e.error.message}`, {
        event: "device_error",
        device_id: e.id,
        origin: e.origin,
        error_type: e.error.name,
        error_message: e.error.message,
      });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
