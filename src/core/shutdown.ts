// The daemon's bounded shutdown: streams stopped, tasks cancelled and awaited (the ones that ignore it
// reported as abandoned), then devices closed to commands and disconnected, all within one time bound.
import { withDeadline } from "./deadline.ts";
import type { DaemonParts } from "./daemonParts.ts";
import type { DeviceEntry } from "./deviceTable.ts";

export async function shutdownDaemon(
  parts: DaemonParts,
  timeoutMs: number,
  disconnect: (e: DeviceEntry, timeoutMs: number) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  const left = () => Math.max(1, deadline - Date.now());
  const entries = parts.devices.entries();
  await withDeadline(
    Promise.all(
      entries.map((e) =>
        e.hub.stop({ type: "DaemonShutdown", message: "the daemon is shutting down" }, left()).catch(() => {}),
      ),
    ),
    left(),
  );
  const running = parts.tasks.list().filter((h) => h.isRunning());
  for (const h of running) h.cancel();
  await withDeadline(Promise.all(running.map((h) => h.settled)), left());
  // A task that ignored its cancel is left behind: say which, since its cleanup never ran in time.
  for (const h of running.filter((r) => r.isRunning())) parts.failures.abandoned(h, timeoutMs);
  // From here on nothing may drive the instruments again: only the disconnects below.
  parts.devices.close();
  parts.leases.clear();
  await withDeadline(
    Promise.all(entries.filter((e) => e.connected).map((e) => disconnect(e, left()).catch(() => {}))),
    left(),
  );
}
