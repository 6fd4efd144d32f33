// Telling systemd how the server is doing (the sd_notify protocol, for `Type=notify` units): READY=1 once
// it listens, STOPPING=1 when a signal starts the shutdown, WATCHDOG=1 at half the unit's WatchdogSec while
// the event loop keeps turning. Nothing happens unless systemd started us with $NOTIFY_SOCKET set.
import { native } from "../io/native.ts";

export interface SystemdNotifier {
  ready(status: string): void;
  stopping(): void;
  /** Ends the watchdog pings (the process is exiting). */
  close(): void;
}

/** The longest ping interval honoured; WATCHDOG_USEC beyond it (or malformed) turns the watchdog off. */
const MAX_WATCHDOG_MS = 24 * 3600 * 1000;

export function systemdNotifier(
  env: NodeJS.ProcessEnv = process.env,
  send: (socket: string, message: string) => void = defaultSend,
): SystemdNotifier | null {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return null;
  let failed = false;
  const notify = (message: string) => {
    try {
      send(socket, message);
    } catch (e) {
      // Said once: a supervisor that went away must not fill the log or stop the server.
      if (!failed) console.error(`labdaemon: cannot notify systemd (${(e as Error).message})`);
      failed = true;
    }
  };
  const usec = Number(env.WATCHDOG_USEC);
  // WATCHDOG_PID names the process the pings are for; a child that inherited the variables stays quiet.
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
  const intervalMs = Number.isFinite(usec) && usec > 0 && forUs ? usec / 2000 : 0;
  let timer: ReturnType<typeof setInterval> | null = null;
  const onSignal = () => notifier.stopping();
  const notifier: SystemdNotifier = {
    ready(status) {
      notify(`READY=1\nSTATUS=${status.replace(/\n/g, " ")}\nMAINPID=${process.pid}`);
      if (intervalMs > 0 && intervalMs <= MAX_WATCHDOG_MS && timer === null) {
        timer = setInterval(() => notify("WATCHDOG=1"), intervalMs);
        timer.unref();
      }
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
    },
    stopping() {
      notify("STOPPING=1\nSTATUS=shutting down");
      notifier.close();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
  return notifier;
}

function defaultSend(socket: string, message: string): void {
  native.sdNotify(socket, message);
}
