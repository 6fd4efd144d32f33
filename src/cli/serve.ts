// `labdaemon serve`: configuration → daemon → HTTP server, until SIGINT/SIGTERM; then the server and
// the daemon stop within SHUTDOWN_BUDGET_MS even with SSE clients attached or devices that hang.
import { HOST } from "./configSchema.ts";
import { dirname, resolve } from "node:path";
import { DataDirError, DataStore } from "../data/dataStore.ts";
import { LabDaemonServer } from "../server/index.ts";
import { isLoopbackAddress } from "../server/middleware/hostCheck.ts";
import { Logger, LOG_FORMATS, logDaemonEvents, RotatingFileSink, type LogFormat, type LogSink } from "../log/index.ts";
import { msFlag, parseFlags, portFlag, UsageError, wholeFlag, type Parsed } from "./args.ts";
import {
  ConfigError,
  discoverConfig,
  fromObject,
  searchedPlaces,
  loadConfigFile,
  LOG_LEVELS,
  ORIGIN,
  type LoadedConfig,
  type LogLevel,
} from "./config.ts";
import { SERVE_HELP } from "./help.ts";
import { createLab, LabStartError, type Lab } from "./lab.ts";
import { plural } from "./plural.ts";
import { systemdNotifier } from "./systemd.ts";
import { serviceLogFile } from "./serviceWindows.ts";
import { STOP_FILE_VAR, watchStopFile } from "./stopFile.ts";
import { connectWindowsService, consoleToLog, makeLogFolder } from "./windowsService.ts";
import { userDirectory } from "./userDirectory.ts";
import { MQTT_FLAGS, mqttOptions } from "./mqttFlags.ts";
import { MqttBridge } from "../bridge/mqtt.ts";
import { isAddressInUse, PortInUseError, probeListen } from "./portInUse.ts";
import { DEFAULT_HOST, openServerRefusal } from "./serveChecks.ts";
import { simLab, SIM_LAB_LABEL } from "./simLab.ts";

const SHUTDOWN_BUDGET_MS = 2000;
const SERVER_STOP_MS = 700;
const DAEMON_STOP_MS = 1000;
const DATA_STOP_MS = 250;

const FLAGS = {
  host: { type: "string" },
  port: { type: "string" },
  config: { type: "string" },
  profile: { type: "string" },
  token: { type: "string" },
  cors: { type: "string", multiple: true },
  "log-level": { type: "string" },
  "connect-timeout": { type: "string" },
  sim: { type: "boolean" },
  ...MQTT_FLAGS,
  insecure: { type: "boolean" },
  "log-file": { type: "string" },
  "log-format": { type: "string" },
  "log-max-bytes": { type: "string" },
  "log-keep": { type: "string" },
  "data-dir": { type: "string" },
  "windows-service": { type: "string" },
} as const;

const LOG_MAX_BYTES = 10 * 1024 * 1024;
const LOG_KEEP = 3;

/** An IP address (IPv6 with or without brackets) or a DNS name: what Bun can be asked to bind. */

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags("serve", argv, FLAGS, { min: 0, max: 0, names: [] }) as Parsed;
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const flag = (k: string) => values[k] as string | undefined;
  if (values.sim && flag("config") !== undefined) throw new UsageError("serve: --sim and --config exclude each other");
  if (values.sim && flag("profile") !== undefined)
    throw new UsageError("serve: --profile needs a configuration file, not --sim");
  const logLevel = flag("log-level");
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`serve: --log-level must be one of ${LOG_LEVELS.join(", ")}, got '${logLevel}'`);
  }
  const cors = values.cors as string[] | undefined;
  const badOrigin = cors?.find((o) => !ORIGIN.test(o));
  if (badOrigin !== undefined)
    throw new UsageError(
      `serve: --cors takes an origin such as http://dashboard.lab:8080 (never '*'), got '${badOrigin}'`,
    );
  const hostFlag = flag("host");
  if (hostFlag !== undefined && !HOST.test(hostFlag))
    throw new UsageError(`serve: --host takes an IP address or a host name, got '${hostFlag}'`);
  const port = portFlag(flag("port"));
  const mqtt = mqttOptions(values);
  const logFormat = flag("log-format");
  if (logFormat !== undefined && !LOG_FORMATS.includes(logFormat as LogFormat))
    throw new UsageError(`serve: --log-format must be text or json, got '${logFormat}'`);
  const signals = shutdownOnSignal();
  // The launcher's Stop where there is no SIGTERM to send (Windows): the same graceful path.
  watchStopFile(process.env[STOP_FILE_VAR], () => process.emit("SIGTERM", "SIGTERM"));
  // Before anything slow: the SCM expects a service to connect within 30 s of starting it (wine: 10 s).
  const serviceName = flag("windows-service");
  const service = serviceName !== undefined ? await connectWindowsService(serviceName) : null;
  // A service has no console: its log, and whatever serve prints, go to a file.
  const logFile = flag("log-file") ?? (serviceName !== undefined ? serviceLogFile(serviceName) : undefined);
  if (service && logFile) makeLogFolder(logFile);
  const logSink = openLogFile(logFile, flag("log-max-bytes"), flag("log-keep"));
  if (service && logSink) consoleToLog(logSink, (logFormat ?? "text") as LogFormat);
  const connectTimeoutMs = msFlag(flag("connect-timeout"), "--connect-timeout");

  // What start-up has started so far. A signal before the server listens stops it as a signal after
  // does (the same steps, the same budget), then exits 130/143; a failure stops it too.
  const started: Started = {};
  let loaded: LoadedConfig;
  let server: LabDaemonServer;
  let logger: Logger | undefined;
  let host: string;
  let token: string | undefined;
  try {
    const found = await signals.duringStartUp(loadLab(values.sim === true, flag("config"), flag("profile")));
    loaded = found.loaded;
    const cfg = loaded.config;
    host = hostFlag ?? cfg.host ?? DEFAULT_HOST;
    token = tokenOf(flag("token"), cfg);
    const refusal = openServerRefusal(
      host,
      token,
      values.insecure === true,
      hostFlag !== undefined ? "--host" : "the configuration's host",
    );
    if (refusal)
      throw new UsageError(
        `serve: ${refusal}; set --token (or LABDAEMON_TOKEN), or add --insecure to serve without one`,
      );
    const listenPort = port ?? cfg.port ?? 5000;
    // Before the lab: a port that is taken must not cost a start of every instrument first.
    try {
      probeListen(host, listenPort);
    } catch (e) {
      throw listenError(e, host, listenPort);
    }
    if (found.fellBack)
      console.error(`labdaemon: no lab configuration found (${searchedPlaces()}); serving the built-in simulated lab`);
    const level = (logLevel ?? cfg.logLevel ?? "info") as LogLevel;
    const lab = await createLab(loaded);
    started.lab = lab;
    await signals.duringStartUp(lab.start({ connectTimeoutMs, signal: signals.aborted })).catch((e: unknown) => {
      // With --log-level debug the failing driver's or setup step's stack comes too, before the one line.
      if (e instanceof LabStartError && e.cause instanceof Error && level === "debug") console.error(e.cause.stack);
      throw e;
    });
    started.data = await openData(loaded, flag("data-dir"), lab.daemon).catch((e: unknown) => {
      if (e instanceof DataDirError)
        throw new ConfigError(`${e.message} (set another with --data-dir or the config's dataDir)`);
      throw e;
    });
    signals.assertNone();
    logger = new Logger({ level, format: (logFormat ?? "text") as LogFormat, sink: logSink });
    started.unlog = logDaemonEvents(lab.daemon, logger);
    server = new LabDaemonServer(lab.daemon, {
      host,
      port: listenPort,
      token,
      cors: cors ?? cfg.cors,
      logLevel: level,
      logger,
      data: started.data,
    });
    // Someone may still take the port between the probe and here.
    await server.start().catch((e: unknown) => {
      throw listenError(e, host, listenPort);
    });
    started.server = server;
    signals.assertNone();
  } catch (e) {
    if (e instanceof StartUpInterrupted) {
      console.error(`labdaemon: ${e.signal} during start-up, exiting`);
      await signals.stop(started);
    } else {
      // The failure is the one line the user sees: the lab's shutdown is not logged after it.
      started.unlog?.();
      await stopAll(started);
    }
    logger?.flush();
    logSink?.close();
    if (e instanceof StartUpInterrupted) return e.status;
    throw e;
  }
  const cfg = loaded.config;
  const { lab } = started as Required<Started>;
  const daemon = lab.daemon;
  const shownHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;

  const what =
    loaded.file === SIM_LAB_LABEL
      ? SIM_LAB_LABEL
      : `${loaded.file}${loaded.profile ? ` [profile ${loaded.profile}]` : ""}`;
  if (!token && !isLoopbackAddress(host)) {
    console.error(
      `labdaemon: WARNING: --insecure: listening on ${shownHost}:${server.port} WITHOUT A TOKEN: anyone who can reach this port can drive the instruments`,
    );
  }
  console.log(
    `labdaemon serving ${cfg.name ? `'${cfg.name}' ` : ""}from ${what}: ${plural(daemon.listDevices().length, "device")} on http://${shownHost}:${server.port} (dashboard: /ui, Swagger UI: /swagger)${token ? ", token required" : ""}`,
  );
  // A broker that is away does not stop the lab: the bridge keeps retrying in the background.
  const bridge = mqtt
    ? new MqttBridge(server, { ...mqtt, serverToken: token, log: (level, m) => logger[level](m) })
    : null;
  await bridge?.start({ timeoutMs: 5000 }).catch((e: Error) => logger.warn(`labdaemon: ${e.message}`));
  systemdNotifier()?.ready(`serving on http://${shownHost}:${server.port}`);
  service?.running();
  await signals.stopped(started);
  await bridge?.stop({ timeoutMs: 500 });
  logger.flush();
  logSink?.close();
  return 0;
}

/** The rotated log file, opened now so a path that cannot be written is a usage error before anything starts. */
function openLogFile(
  path: string | undefined,
  maxBytesFlag: string | undefined,
  keepFlag: string | undefined,
): LogSink | undefined {
  const maxBytes = wholeFlag(maxBytesFlag, "--log-max-bytes", "a size in bytes", 4096, 2 ** 40) ?? LOG_MAX_BYTES;
  const keep = wholeFlag(keepFlag, "--log-keep", "a number of rotated files", 0, 100) ?? LOG_KEEP;
  if (path === undefined) {
    const orphan = maxBytesFlag !== undefined ? "--log-max-bytes" : keepFlag !== undefined ? "--log-keep" : null;
    if (orphan) throw new UsageError(`serve: ${orphan} needs --log-file`);
    return undefined;
  }
  try {
    return new RotatingFileSink(path, maxBytes, keep);
  } catch (e) {
    throw new UsageError(`serve: --log-file ${path}: cannot open for writing: ${(e as Error).message}`);
  }
}

/** Why serve cannot listen, in one line. */
function listenError(e: unknown, host: string, port: number): Error {
  if (isAddressInUse(e))
    return new PortInUseError(`port ${port} on ${host} is already in use (choose another with --port)`);
  return new LabStartError(`cannot listen on ${host}:${port}: ${(e as Error)?.message ?? String(e)}`);
}

/** The flag's, else $LABDAEMON_TOKEN (an empty one is no token), else the configuration's. */
function tokenOf(flag: string | undefined, cfg: { token?: string }): string | undefined {
  return flag ?? (process.env.LABDAEMON_TOKEN || undefined) ?? cfg.token;
}

/**
 * The data directory: --data-dir, else the config's dataDir (relative to its file), else ./labdaemon-data
 * beside the configuration file, or ~/.labdaemon/data (%LOCALAPPDATA%\labdaemon\data on Windows) for the
 * built-in simulated lab.
 */
function openData(loaded: LoadedConfig, dirFlag: string | undefined, daemon: Lab["daemon"]): Promise<DataStore> {
  const cfg = loaded.config;
  const configFile = loaded.file === SIM_LAB_LABEL ? null : loaded.file;
  const dir =
    dirFlag !== undefined
      ? resolve(dirFlag)
      : configFile && cfg.dataDir !== undefined
        ? resolve(dirname(configFile), cfg.dataDir)
        : configFile
          ? resolve(dirname(configFile), "labdaemon-data")
          : resolve(userDirectory(), "data");
  const devices = Object.fromEntries(
    Object.entries(cfg.devices).map(([id, d]) => [id, { type: d.type, params: d.params }]),
  );
  return DataStore.open(daemon, { dir, retention: cfg.retention, configFile, profile: loaded.profile, devices });
}

/** `fellBack`: nothing was configured, so the built-in simulated lab stands in (said once start-up is sure). */
async function loadLab(
  sim: boolean,
  configFlag: string | undefined,
  profile: string | undefined,
): Promise<{ loaded: LoadedConfig; fellBack: boolean }> {
  if (sim) return { loaded: fromObject(simLab, SIM_LAB_LABEL), fellBack: false };
  const found = discoverConfig({ flag: configFlag, env: process.env.LABDAEMON_CONFIG || undefined });
  if (!found) {
    if (profile !== undefined)
      throw new ConfigError(`--profile '${profile}' given, but no configuration file was found`);
    return { loaded: fromObject(simLab, SIM_LAB_LABEL), fellBack: true };
  }
  return { loaded: await loadConfigFile(found.file, profile), fellBack: false };
}

/** What serve has started, each part once it is up (the lab as soon as its devices are added). */
interface Started {
  lab?: Lab;
  data?: DataStore;
  server?: LabDaemonServer;
  /** Ends the logging of the daemon's events. */
  unlog?: () => void;
}

/**
 * Stops what was started, the server first and the data directory last, within SHUTDOWN_BUDGET_MS: the
 * same steps for a signal after listening, a signal during start-up, and a start-up that failed.
 */
async function stopAll(started: Started): Promise<void> {
  const startedAt = performance.now();
  await started.server
    ?.stop({ timeoutMs: SERVER_STOP_MS })
    .catch((e: unknown) => console.error("labdaemon: server stop:", e));
  await started.lab?.shutdown(DAEMON_STOP_MS);
  // After the daemon: tasks cancelled by its shutdown are recorded before the catalogue closes. It gets
  // what is left of the budget (at least its own share): files still being written are finished rather
  // than left to read 'interrupted'.
  const left = startedAt + SHUTDOWN_BUDGET_MS - 150 - performance.now();
  await started.data
    ?.close(Math.max(DATA_STOP_MS, left))
    .catch((e: unknown) => console.error("labdaemon: data directory close:", e));
}

/**
 * Listens for SIGINT/SIGTERM from the start: the handlers must be in place before the address is
 * announced, or a supervisor that signals right after reading it would kill the process outright.
 */
function shutdownOnSignal(): {
  /** Aborted when the first signal comes. */
  aborted: AbortSignal;
  /** `p`, or StartUpInterrupted as soon as a signal comes (p itself is left to whoever stops it). */
  duringStartUp<T>(p: Promise<T>): Promise<T>;
  /** Throws StartUpInterrupted if a signal has come. */
  assertNone(): void;
  /** Stops what was started, bounded: a second signal, or an overrun of the budget, exits at once. */
  stop(started: Started): Promise<void>;
  /** Waits for a signal, then stops what was started. */
  stopped(started: Started): Promise<void>;
} {
  let received!: (s: NodeJS.Signals) => void;
  let got: NodeJS.Signals | null = null;
  const signal = new Promise<NodeJS.Signals>((r) => (received = r));
  const abort = new AbortController();
  let count = 0;
  const onSignal = (s: NodeJS.Signals) => {
    if (++count > 1) {
      console.error(`labdaemon: ${s} again, exiting now`);
      process.exit(130);
    }
    got = s;
    // At once, not a turn later: a start-up step that finishes on this very signal starts no next one.
    abort.abort();
    received(s);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const stop = async (started: Started) => {
    const overrun = setTimeout(() => {
      console.error(`labdaemon: shutdown took longer than ${SHUTDOWN_BUDGET_MS} ms, exiting`);
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS - 100);
    try {
      await stopAll(started);
    } finally {
      clearTimeout(overrun); // a failed shutdown is reported by the caller, not cut short by exit(1)
    }
  };
  return {
    aborted: abort.signal,
    duringStartUp(p) {
      return Promise.race([p, signal.then((s) => Promise.reject(new StartUpInterrupted(s)))]);
    },
    assertNone() {
      if (got) throw new StartUpInterrupted(got);
    },
    stop,
    async stopped(started) {
      const s = await signal;
      console.error(`labdaemon: ${s}, shutting down`);
      await stop(started);
    },
  };
}

/** SIGINT/SIGTERM before the server listens; the exit status is the shell's 128 + signal number. */
class StartUpInterrupted extends Error {
  readonly status: number;
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal} during start-up`);
    this.status = signal === "SIGTERM" ? 143 : 130;
  }
}
