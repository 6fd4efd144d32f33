// The daemon's events: what the server streams and stores without reaching into internals.

export type ErrorOrigin = "framework" | "device" | "callback";

export type TaskEventKind = "started" | "progress" | "paused" | "resumed" | "completed" | "failed" | "cancelled";

export interface TaskEvent {
  kind: TaskEventKind;
  taskId: string;
  taskType: string;
  timestamp: string;
  progress?: { fraction: number; message?: string };
  error?: { type: string; message: string };
}

export type DeviceEventKind =
  | "added"
  | "removed"
  | "connected"
  | "disconnected"
  | "streaming_started"
  | "streaming_stopped"
  | "leased"
  | "lease_renewed"
  | "lease_ended"
  | "lease_forced";

export interface DeviceEvent {
  kind: DeviceEventKind;
  deviceId: string;
  timestamp: string;
}

/** A service request an instrument raised, forwarded by its device (see src/core/deviceSrq.ts). */
export interface ServiceRequestEvent {
  deviceId: string;
  /** The instrument's status byte (bit 6, RQS, set), or null where it could not be read. */
  statusByte: number | null;
  /** ISO-8601 UTC with milliseconds. */
  timestamp: string;
}

export interface ErrorEvent {
  scope: "device" | "task";
  id: string;
  origin: ErrorOrigin;
  error: Error;
  context: Record<string, unknown>;
  timestamp: string;
}

export interface DaemonEvents {
  task: TaskEvent;
  device: DeviceEvent;
  srq: ServiceRequestEvent;
  error: ErrorEvent;
}

type Listener<T> = (event: T) => void;

/** A small typed emitter; a throwing listener never disturbs the emitter or other listeners. */
export class Emitter<E extends object> {
  private listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  on<K extends keyof E>(type: K, fn: Listener<E[K]>): () => void {
    const set = (this.listeners[type] ??= new Set());
    set.add(fn);
    return () => set.delete(fn);
  }

  emit<K extends keyof E>(type: K, event: E[K]): void {
    const set = this.listeners[type];
    if (!set) return;
    for (const fn of set) {
      try {
        fn(event);
      } catch (e) {
        console.error(`labdaemon: a '${String(type)}' event listener threw:`, e);
      }
    }
  }
}

/** ISO-8601 UTC, seconds precision, `+00:00` suffix (the Python LabDaemon's wire format). */
export function isoNow(ms: number = Date.now()): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** The same with milliseconds, for stream events (many per second). */
export function isoMillis(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}+00:00`;
}
