// The contract's error classes. Each carries a stable `name` (minifier-proof) that the server puts in
// `error.type`, and a `context` object with the ids involved.

export type ErrorContext = Record<string, unknown>;

export class LabDaemonError extends Error {
  override name = "LabDaemonError";
  readonly context: ErrorContext;
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.context = context;
  }
}

export class DeviceError extends LabDaemonError {
  override name = "DeviceError";
}
export class DeviceConnectionError extends DeviceError {
  override name = "DeviceConnectionError";
}
export class DeviceNotConnectedError extends DeviceError {
  override name = "DeviceNotConnectedError";
}
export class DeviceTimeoutError extends DeviceError {
  override name = "DeviceTimeoutError";
}
export class DeviceConfigurationError extends DeviceError {
  override name = "DeviceConfigurationError";
}
export class DeviceOperationError extends DeviceError {
  override name = "DeviceOperationError";
}

export class TaskError extends LabDaemonError {
  override name = "TaskError";
}
export class TaskFailedError extends TaskError {
  override name = "TaskFailedError";
}
/** A cancelled task's partial result travels with the error. */
export class TaskCancelledError extends TaskError {
  override name = "TaskCancelledError";
  result: unknown;
  constructor(message: string, context: ErrorContext = {}, result?: unknown) {
    super(message, context);
    this.result = result;
  }
}
/** The task's constructor threw; `cause` is what it threw. */
export class TaskInstantiationError extends TaskError {
  override name = "TaskInstantiationError";
}
/**
 * A task refused a parameter key or value in setParameter/getParameter: the caller's mistake (400 over
 * HTTP). Put the accepted keys in `context.known`.
 */
export class TaskParameterError extends TaskError {
  override name = "TaskParameterError";
}
/**
 * The task lacks an optional method the caller needs (setParameter/getParameter): still a TaskError, and
 * over HTTP a 400 NotSupported.
 */
export class NotSupportedError extends TaskError {
  override name = "NotSupported";
}
/** The task's `deviceIds` is not an array of strings. */
export class InvalidTaskDefinitionError extends TaskError {
  override name = "InvalidTaskDefinition";
}

/**
 * Reported (as the task's error event) when shutdown gave up on a task that did not end after being
 * cancelled: its run() was abandoned, and its finally blocks did not run by the time the daemon closed.
 */
export class TaskAbandonedError extends TaskError {
  override name = "TaskAbandoned";
}
/** `wait({ timeoutMs })` ran out; the task keeps running. */
export class TimeoutError extends LabDaemonError {
  override name = "TimeoutError";
}

// Registry and request errors: the server's error catalogue gives each `name` its status (404, 409, 400).
export class InvalidRequestError extends LabDaemonError {
  override name = "InvalidRequest";
}
export class DeviceNotFoundError extends LabDaemonError {
  override name = "DeviceNotFound";
}
export class DeviceExistsError extends LabDaemonError {
  override name = "DeviceExists";
}
export class DeviceTypeNotFoundError extends LabDaemonError {
  override name = "DeviceTypeNotFound";
}
export class DeviceCreationError extends LabDaemonError {
  override name = "DeviceCreationError";
}
export class MethodNotFoundError extends LabDaemonError {
  override name = "MethodNotFound";
}
export class DeviceInUseError extends LabDaemonError {
  override name = "DeviceInUse";
}
/** A command on a device another client holds a lease on (context: device_id, holder, expires_at). */
export class DeviceLeasedError extends LabDaemonError {
  override name = "DeviceLeased";
}
/** Renewing or releasing a lease the device does not have (expired, released, or never granted). */
export class LeaseNotFoundError extends LabDaemonError {
  override name = "LeaseNotFound";
}
export class TaskNotFoundError extends LabDaemonError {
  override name = "TaskNotFound";
}
export class TaskExistsError extends LabDaemonError {
  override name = "TaskExists";
}
export class TaskTypeNotFoundError extends LabDaemonError {
  override name = "TaskTypeNotFound";
}
export class DaemonClosedError extends LabDaemonError {
  override name = "DaemonClosed";
}
/**
 * Arguments refused by the method's typebox schema (a device class's static `methods`), on every call
 * through the daemon: the proxy in-process and POST /call alike (422 there). `context.errors` lists them.
 */
export class ValidationError extends LabDaemonError {
  override name = "ValidationError";
}
/** A bound on waiting work was reached (a device's call queue, the running-task limit): try again later. */
export class BusyError extends LabDaemonError {
  override name = "Busy";
}

/** Anything thrown, as an Error (devices may throw strings or plain objects). */
export function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  const err = new Error(typeof e === "string" ? e : safeString(e));
  err.name = "Error";
  return err;
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
