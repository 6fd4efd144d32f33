// Turns a lab configuration into a running LabDaemon: driver types registered and devices added, then,
// as a second step a signal may cut short, devices connected where asked and the setup step run. Every
// failure names the config entry at fault.
import { LabDaemon, withDeadline, type DeviceClass, type TaskClass } from "../index.ts";
import { builtinDevices, builtinTasks } from "../../drivers/index.ts";
import { settleWithin } from "../core/deadline.ts";
import { ConfigError, type LoadedConfig } from "./config.ts";

/** How long one device may take to connect at start-up. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a config's setup() may take. */
export const SETUP_TIMEOUT_MS = 30_000;

/** A lab: its daemon, and what its setup step asked to run when it ends. */
export interface Lab {
  daemon: LabDaemon;
  /** Connects the devices marked `connect`, then runs the config's setup(); a failure shuts the lab down. */
  start(opts?: LabStartOptions): Promise<void>;
  /**
   * Shuts the daemon down, then runs the setup step's cleanup; bounded by `timeoutMs` in total. Called while
   * start() is under way (a signal during start-up), it ends start() there and also stops what the step in
   * progress finishes within the bound (a device that connects, a setup() that returns its cleanup).
   * Idempotent: later calls return the first call's promise.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

export interface LabStartOptions {
  connectTimeoutMs?: number;
  setupTimeoutMs?: number;
  /** Once aborted, start() takes no further step and leaves shutting the lab down to its caller. */
  signal?: AbortSignal;
}

/** A lab built and started: what a caller that has nothing to do between the two steps uses. */
export async function buildLab(loaded: LoadedConfig, opts: LabStartOptions = {}): Promise<Lab> {
  const lab = await createLab(loaded);
  await lab.start(opts);
  return lab;
}

/** The driver types registered and the devices added, nothing connected yet: every config mistake is found here. */
export async function createLab(loaded: LoadedConfig): Promise<Lab> {
  const { config, where } = loaded;
  const at = loaded.profile ? ["configs", loaded.profile] : [];
  const devices: Record<string, DeviceClass> = { ...builtinDevices };
  const tasks: Record<string, TaskClass> = {};
  for (const [i, name] of (config.tasks ?? Object.keys(builtinTasks)).entries()) {
    const cls = Object.hasOwn(builtinTasks, name) ? builtinTasks[name] : undefined; // never Object.prototype's "toString"
    if (!cls)
      throw new ConfigError(
        `${where([...at, "tasks", i])}: unknown task type '${name}' (built-in: ${Object.keys(builtinTasks).join(", ")})`,
      );
    tasks[name] = cls;
  }
  for (const kind of ["devices", "tasks"] as const) {
    const target: Record<string, unknown> = kind === "devices" ? devices : tasks;
    for (const [name, cls] of Object.entries(config.plugins?.[kind] ?? {})) {
      if (Object.hasOwn(target, name)) {
        throw new ConfigError(
          `${where([...at, "plugins", kind, name])}: plugin type '${name}' clashes with a built-in type of that name`,
        );
      }
      target[name] = cls;
    }
  }

  const daemon = new LabDaemon({ completedTaskBuffer: config.completedTaskBuffer });
  let cleanup: (() => unknown) | null = null;
  /** The start-up step under way (a device connecting, setup() running), settled either way. */
  let step: Promise<unknown> | null = null;
  let stopping: Promise<void> | null = null;
  const shutdown = (timeoutMs: number) => {
    stopping ??= (async (interrupted: Promise<unknown> | null) => {
      const deadline = Date.now() + timeoutMs;
      const left = () => Math.max(1, deadline - Date.now());
      await daemon.shutdown({ timeoutMs });
      if (interrupted) {
        // What the interrupted step finishes in time is stopped too: a device that connects now is
        // disconnected, a setup() that returns now has its cleanup run below.
        await withDeadline(interrupted, left());
        const connected = daemon.listDevices().filter((d) => d.connected);
        await withDeadline(
          Promise.all(connected.map((d) => daemon.disconnectDevice(d.deviceId, { timeoutMs: left() }).catch(() => {}))),
          left(),
        );
      }
      if (cleanup) await withDeadline(Promise.resolve().then(cleanup), left());
    })(step);
    return stopping;
  };
  /** One start-up step, unless start-up was aborted or the lab is shutting down: then start-up ends here. */
  const run = async (action: () => Promise<unknown>, signal: AbortSignal | undefined) => {
    if (stopping || signal?.aborted) throw new LabStartError("start-up interrupted: the lab is shutting down");
    const current = action();
    step = current.catch(() => {});
    try {
      await current;
    } finally {
      step = null;
    }
  };

  try {
    daemon.registerPlugins({ devices, tasks });
    for (const [id, d] of Object.entries(config.devices)) {
      const path = [...at, "devices", id];
      if (!Object.hasOwn(devices, d.type)) {
        throw new ConfigError(
          `${where([...path, "type"])}: device '${id}': unknown device type '${d.type}' (known: ${Object.keys(devices).join(", ")})`,
        );
      }
      try {
        daemon.addDevice(id, d.type, d.params, { callTimeoutMs: d.callTimeoutMs });
      } catch (e) {
        throw new ConfigError(`${where(path)}: device '${id}': ${(e as Error).message}`);
      }
    }
  } catch (e) {
    await shutdown(2000);
    throw e;
  }

  const start = async (opts: LabStartOptions = {}) => {
    try {
      for (const [id, d] of Object.entries(config.devices)) {
        if (!d.connect) continue;
        await run(async () => {
          try {
            await daemon.connectDevice(id, { timeoutMs: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS });
          } catch (e) {
            throw new LabStartError(
              `${where([...at, "devices", id])}: device '${id}' (${d.type}) failed to connect: ${oneLine(messageOf(e))}`,
              { cause: e },
            );
          }
        }, opts.signal);
      }
      const setup = config.setup;
      if (setup) {
        await run(async () => {
          try {
            const ms = opts.setupTimeoutMs ?? SETUP_TIMEOUT_MS;
            const after = await settleWithin(
              Promise.resolve().then(() => setup(daemon)),
              ms,
              () => new SetupTimeout(ms),
            );
            if (typeof after === "function") cleanup = after as () => unknown;
          } catch (e) {
            if (e instanceof SetupTimeout)
              throw new LabStartError(`${loaded.file}: setup() did not finish within ${e.ms} ms`);
            const name = (e as Error)?.name;
            const shown = name && name !== "Error" ? `${name}: ${messageOf(e)}` : messageOf(e);
            throw new LabStartError(`${loaded.file}: setup() failed: ${oneLine(shown)}`, { cause: e });
          }
        }, opts.signal);
      }
    } catch (e) {
      if (!opts.signal?.aborted) await shutdown(2000);
      throw e;
    }
  };
  return { daemon, start, shutdown };
}

/** The configuration is fine but the lab is not (an instrument is off, a setup step failed). */
export class LabStartError extends Error {
  override name = "LabStartError";
}

/** What was thrown, as its message (anything may be thrown, not only an Error). */
function messageOf(e: unknown): string {
  return typeof (e as Error)?.message === "string" ? (e as Error).message : String(e);
}

/** A message for the one line a start-up failure gets: a driver's multi-line text joined into one. */
function oneLine(message: string): string {
  return message.trim().replace(/\s*[\r\n]+\s*/g, " ");
}

class SetupTimeout extends Error {
  constructor(readonly ms: number) {
    super(`setup() did not finish within ${ms} ms`);
  }
}
