// Every error type the server, its streams, the launcher and the MQTT bridge send, with its status and origin.
// mapError, HttpError and the OpenAPI error schema all read this table, so a type cannot be sent unlisted.
import type { ErrorOrigin } from "../core/events.ts";

/**
 * Where a type is sent: `http` an error response of the server (and the envelope of a task's exception),
 * `sse` a `stream_error` event ending a stream, `launcher` the launcher's JSON API, `mqtt` the MQTT bridge's
 * own replies (it relays the server's responses as they are).
 */
export type ErrorChannel = "http" | "sse" | "launcher" | "mqtt";

export interface ErrorEntry {
  /** The HTTP status of a response carrying it; null when it only ends streams. */
  status: number | null;
  /** Other statuses the same type is sent with (see `about`). */
  also?: readonly number[];
  /** The envelope's `origin` when the server raises it itself. */
  origin: Exclude<ErrorOrigin, "callback">;
  channels: readonly ErrorChannel[];
  about: string;
}

// Generic in the status, so each entry keeps its literal status for StatusOf.
const request = <S extends number>(status: S, about: string, channels: readonly ErrorChannel[] = ["http"]) => ({
  status,
  origin: "framework" as const,
  channels,
  about,
});
const device = <S extends number>(status: S, about: string) => ({
  status,
  origin: "device" as const,
  channels: ["http"] as const,
  about,
});
const streamEnd = (about: string) => ({
  status: null,
  origin: "framework" as const,
  channels: ["sse"] as const,
  about,
});
const launcher = <S extends number>(status: S, about: string) => request(status, about, ["launcher"]);

export const ERROR_CATALOGUE = {
  // ---------------------------------------------------------------- the request itself
  InvalidRequest: request(400, "a bad value in the path, query or body", ["http", "launcher", "mqtt"]),
  ValidationError: request(422, "a body or arguments that break the schema (context.errors lists them)"),
  Unauthorized: request(401, "no token, or the wrong one", ["http", "launcher"]),
  HostNotAllowed: request(403, "a Host header this server does not answer (DNS rebinding)"),
  CorsOriginNotAllowed: request(403, "a cross-origin request from an origin not in the cors option"),
  ForceNotAllowed: request(403, "forcing a lease open on a server without a token"),
  NotFound: request(404, "no such route or asset", ["http", "launcher"]),
  MethodNotAllowed: request(405, "the route exists, the method does not (context.allowed)", ["http", "launcher"]),
  PayloadTooLarge: request(413, "a body over the limit", ["http", "launcher"]),
  UnsupportedMediaType: request(415, "a body of a media type the route does not take (the launcher's text bodies)", [
    "launcher",
  ]),
  URITooLong: request(414, "a request URL over 8 KiB"),
  InternalError: request(500, "a failure of the server itself; its log has the details", ["http", "launcher", "mqtt"]),
  ServerShuttingDown: request(503, "the server is stopping and takes no new requests"),

  // ---------------------------------------------------------------- registry and lifecycle (core)
  DeviceNotFound: request(404, "no device with that id"),
  TaskNotFound: request(404, "no task with that id"),
  MethodNotFound: request(404, "no remote method of that name on the device"),
  DeviceTypeNotFound: request(404, "no registered device class of that name"),
  TaskTypeNotFound: request(404, "no registered task class of that name"),
  NoError: request(404, "no error recorded for the device or task"),
  LeaseNotFound: request(404, "the lease expired, was released or never granted"),
  DeviceExists: request(409, "a device with that id exists"),
  TaskExists: request(409, "a task with that id exists"),
  DeviceInUse: request(409, "a running task owns the device (context: device_id, task_id)", ["http", "sse"]),
  DeviceLeased: request(409, "another client holds a lease on the device"),
  TaskNotRunning: request(409, "the task has ended; it cannot be paused, resumed or given parameters"),
  TaskInstantiationError: request(400, "the task's constructor threw"),
  InvalidTaskDefinition: request(400, "the task's deviceIds is not an array of strings"),
  TaskParameterError: {
    ...request(400, "a task refused a parameter key or value; 500 when its parameter code failed otherwise"),
    also: [500],
  },
  NotSupported: request(400, "the task has no setParameter/getParameter"),
  DaemonClosed: request(503, "the daemon was shut down"),
  Busy: request(503, "a device's call queue or the running-task limit is full: try again later"),
  TimeoutError: request(504, "a task's parameter code did not answer in time"),
  LabDaemonError: request(500, "a framework failure without a more specific type"),
  TaskError: request(500, "a task failure without a more specific type"),
  TaskFailedError: request(500, "a task failed (in-process wait())"),
  TaskCancelledError: request(500, "a task was cancelled (in-process wait(); its partial result travels with it)"),
  TaskAbandoned: request(500, "shutdown gave up on a task that ignored cancellation (its exception)"),

  // ---------------------------------------------------------------- device failures (origin device)
  DeviceCreationError: device(400, "the device class's constructor refused its parameters"),
  DeviceError: device(400, "a device failure without a more specific type"),
  DeviceConnectionError: device(400, "connecting failed, or the instrument closed the connection"),
  DeviceDisconnectionError: device(400, "disconnecting failed"),
  DeviceNotConnectedError: device(400, "the device is not connected"),
  DeviceConfigurationError: device(400, "a bad resource string or option"),
  DeviceOperationError: device(400, "the instrument refused or failed the operation"),
  DeviceTimeoutError: device(504, "the device did not answer in time (or is still busy with a call that did not)"),

  // ---------------------------------------------------------------- recordings
  RunNotFound: request(404, "no run with that id"),
  RunFileMissing: request(404, "the run's file is gone from the data directory"),
  RunRecording: request(409, "the run is still recording"),
  RunNotRecording: request(409, "the run is not recording"),
  NotATaskRun: request(409, "the run was not recorded by a task, so it cannot be resubmitted"),
  RunFileError: request(
    500,
    "the recording's file could not be created (a full disk, a folder not writable); the run is kept as failed (context: run_id)",
  ),

  // ---------------------------------------------------------------- stream ends (stream_error only)
  ServerStopping: streamEnd("the server is stopping (worth a reconnect)"),
  TooManyStreams: streamEnd("the server holds its most streams (worth a reconnect)"),
  StreamStopped: streamEnd(
    "the stream was stopped by a task or a script, or its last subscriber left (worth a reconnect)",
  ),
  StreamStoppedByClient: streamEnd("a client stopped the stream (POST stream/stop); a reconnect gets 204"),
  DeviceDisconnected: streamEnd("the device was disconnected"),
  DeviceRemoved: streamEnd("the device was removed"),
  DaemonShutdown: streamEnd("the daemon is shutting down"),

  // ---------------------------------------------------------------- the launcher
  ForbiddenHost: launcher(403, "a Host header other than the launcher's loopback address"),
  ForbiddenOrigin: launcher(403, "a request from another site's page"),
  ConfigError: launcher(422, "the configuration text does not load (context: file, line, column)"),
  ConfigInvalid: launcher(409, "the configuration does not load: fix it before starting a server"),
  ConfigExists: launcher(409, "the launcher already uses a configuration file"),
  NoConfig: launcher(409, "no configuration file yet"),
  FileExists: launcher(409, "the file to create exists"),
  ProfileNotFound: launcher(404, "no profile of that name"),
  ProfileRemoved: launcher(409, "the profile left the configuration; its server can only be stopped"),
  AlreadyRunning: launcher(409, "the profile's server runs already"),
  NotRunning: launcher(409, "the profile's server does not run"),
  PortInUse: launcher(409, "another process listens on the profile's port"),
  PortUnavailable: launcher(409, "the profile's address cannot be listened on"),
  SpawnFailed: launcher(500, "the server process could not be started"),
  OrphanNotFound: launcher(404, "no orphan record with that id"),
  NotProven: launcher(409, "the orphan's PID cannot be proven to be that server"),
  OtherConfig: launcher(409, "the orphan was started from another configuration"),
  StillRunning: launcher(409, "the orphan's server still runs: adopt or stop it"),
  Quitting: launcher(503, "the launcher is quitting: it starts and adopts no more servers"),
} as const satisfies Record<string, ErrorEntry>;

/** Every catalogued `error.type`. */
export type WireErrorType = keyof typeof ERROR_CATALOGUE;

type Catalogue = typeof ERROR_CATALOGUE;
/** The types a response carries (not the stream-only ones). */
export type ResponseErrorType = {
  [K in WireErrorType]: Catalogue[K]["status"] extends number ? K : never;
}[WireErrorType];
/** The statuses `T` is sent with. */
export type StatusOf<T extends WireErrorType> = T extends WireErrorType
  ? Catalogue[T]["status"] | (Catalogue[T] extends { also: readonly (infer S)[] } ? S : never)
  : never;

/** The entry of a catalogued type, or undefined (an own key only: "constructor" is not a type). */
export function catalogued(type: string): ErrorEntry | undefined {
  return Object.hasOwn(ERROR_CATALOGUE, type) ? ERROR_CATALOGUE[type as WireErrorType] : undefined;
}

/** The types sent on `channel`, in catalogue order. */
export function typesSentOn(channel: ErrorChannel): WireErrorType[] {
  return (Object.keys(ERROR_CATALOGUE) as WireErrorType[]).filter((k) =>
    (ERROR_CATALOGUE[k].channels as readonly ErrorChannel[]).includes(channel),
  );
}
