// GET /stream/tasks: task lifecycle and progress events for dashboards, from the daemon's task events.
import type { LabDaemon, TaskEvent } from "../../core/index.ts";
import { SseConnection, type ConnectionSettings } from "./connection.ts";
import { Fanout, type ReplayLimits } from "./fanout.ts";
import { bytes, formatJsonEvent, formatStreamError } from "./format.ts";

const STATUS_AFTER: Record<TaskEvent["kind"], string> = {
  started: "running",
  progress: "running",
  resumed: "running",
  paused: "paused",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

export class TaskFeed {
  private readonly fanout: Fanout<"json">;
  private sequence = 0;
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly daemon: LabDaemon,
    private readonly opts: { connection: ConnectionSettings; replay: ReplayLimits },
  ) {
    this.fanout = new Fanout<"json">(opts.replay);
    this.listen();
  }

  /** Listening from the start, so a dashboard that connects late or reconnects can be replayed what it missed. */
  listen(): void {
    this.unlisten ??= this.daemon.on("task", (e) => this.onTask(e));
  }

  join(signal: AbortSignal, lastEventId: number | undefined, taskId?: string): SseConnection {
    this.listen();
    const conn = new SseConnection({ ...this.opts.connection, signal, onClose: (c) => this.fanout.remove(c) });
    conn.comment("task stream");
    // A restarted server counts from 1 again: an id from before is not a position in this feed.
    const from = lastEventId !== undefined && lastEventId <= this.sequence ? lastEventId : undefined;
    this.fanout.add(conn, { variant: "json", accept: taskId ? (tag) => tag === taskId : undefined }, from);
    return conn;
  }

  endAll(type: string, message: string): void {
    this.fanout.endAll(bytes(formatStreamError({}, { type, message })));
  }

  close(): void {
    this.unlisten?.();
    this.unlisten = null;
  }

  /**
   * A progress event reports the task's status as it is: the step in flight when a pause came still
   * reports its progress, and the task is paused by then.
   */
  private statusNow(taskId: string): string {
    try {
      return this.daemon.getTask(taskId).status;
    } catch {
      return "running";
    }
  }

  private onTask(e: TaskEvent): void {
    const sequence = ++this.sequence;
    const name = `task_${e.kind}`;
    const data = JSON.stringify({
      event: name,
      task_id: e.taskId,
      task_type: e.taskType,
      status: e.kind === "progress" ? this.statusNow(e.taskId) : STATUS_AFTER[e.kind],
      timestamp: e.timestamp,
      sequence,
      ...(e.progress ? { progress: e.progress } : {}),
      ...(e.error ? { error: e.error } : {}),
    });
    const chunk = bytes(formatJsonEvent(sequence, name, data));
    this.fanout.publish({ sequence, tag: e.taskId, chunks: { json: chunk }, size: chunk.byteLength });
  }
}
