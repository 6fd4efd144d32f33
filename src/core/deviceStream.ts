// A device's stream wiring: the StreamHub that starts and stops the device's own stream in its queue
// (bounded, failures reported) and fans its payloads out to every subscriber.
import { CLEANUP_TIMEOUT_MS, callLifecycle } from "./deviceCall.ts";
import type { DaemonParts } from "./daemonParts.ts";
import type { DeviceEntry } from "./deviceTable.ts";
import { DeviceError, DeviceTimeoutError, InvalidRequestError } from "./errors.ts";
import { StreamHub } from "./streamHub.ts";

export const DEFAULT_STOP_TIMEOUT_MS = 1000;
/** Bound on a device's startStreaming when it has no callTimeoutMs. */
const START_TIMEOUT_MS = 30_000;

export function makeHub(parts: DaemonParts, e: DeviceEntry): StreamHub {
  return new StreamHub(e.id, {
    start: async (deliver) => {
      if (typeof e.instance.startStreaming !== "function") {
        throw new DeviceError(`Device '${e.id}' does not support streaming.`, { device_id: e.id });
      }
      try {
        // Bounded even for a device without a call timeout: a start that never returns must not leave
        // every subscriber (and a stop waiting behind it) hanging.
        await callLifecycle(parts, e, "startStreaming", [deliver], e.callTimeoutMs || START_TIMEOUT_MS);
      } catch (err) {
        parts.failures.entry(e, err, "device", { operation: "startStreaming" });
        // A start that timed out may still come up later, for nobody: queued behind it, a stop follows.
        if (err instanceof DeviceTimeoutError)
          void callLifecycle(parts, e, "stopStreaming", [], CLEANUP_TIMEOUT_MS, null, "wait", true).catch(() => {});
        throw err;
      }
      parts.emitDevice("streaming_started", e.id);
    },
    stop: async (timeoutMs = DEFAULT_STOP_TIMEOUT_MS) => {
      try {
        // A little beyond the device's own bound, so a device that honours it is never cut short. Behind a
        // call still running (even one that timed out) the stop waits its turn and runs then, whenever
        // its caller stopped waiting: the stream is over for everyone from now, and a later start queues
        // behind it.
        await callLifecycle(parts, e, "stopStreaming", [timeoutMs], timeoutMs + 250, null, "wait", true);
      } catch (err) {
        parts.failures.entry(e, err, "device", { operation: "stopStreaming" });
      }
      parts.emitDevice("streaming_stopped", e.id);
    },
    onCallbackError: (err, subscriberId) => parts.failures.entry(e, err, "callback", { subscriber: subscriberId }),
  });
}

/** The device has a stream to offer (a startStreaming method). */
export function canStream(e: DeviceEntry): boolean {
  return typeof e.instance.startStreaming === "function";
}

/** The refusal of a stream (a subscription, a recording) asked of a device that has none: the caller's mistake. */
export function doesNotStream(deviceId: string, deviceType: string): InvalidRequestError {
  return new InvalidRequestError(
    `Device '${deviceId}' (${deviceType}) does not stream: it has no startStreaming method`,
    { device_id: deviceId },
  );
}

/**
 * The device's own stream counters (a DAQ's ring overflows), when it reports them through
 * getStreamStats(); read beside its queue, since they must answer while it streams.
 */
export function streamStats(e: DeviceEntry): Record<string, unknown> | null {
  const dev = e.instance as { getStreamStats?: () => Record<string, unknown> };
  return typeof dev.getStreamStats === "function" ? dev.getStreamStats() : null;
}
