// The one place where failures become HTTP: the envelope and the status for every error type.
import { DeviceError, LabDaemonError } from "../core/errors.ts";
import { isoNow, type ErrorOrigin } from "../core/events.ts";
import type { ErrorEnvelope } from "./schemas.ts";

/** A failure the server itself decides (bad request fields, 401, 413 …), already knowing its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly context: Record<string, unknown> = {},
    readonly origin: ErrorOrigin = "framework",
  ) {
    super(message);
    this.name = type;
  }
}

/** Core error `name` → status. Anything a device throws is mapped by `deviceFailureStatus`. */
const STATUS_BY_TYPE: Record<string, number> = {
  InvalidRequest: 400,
  DeviceCreationError: 400,
  TaskInstantiationError: 400,
  InvalidTaskDefinition: 400,
  TaskParameterError: 400,
  NotSupported: 400,
  DeviceNotFound: 404,
  TaskNotFound: 404,
  MethodNotFound: 404,
  DeviceTypeNotFound: 404,
  TaskTypeNotFound: 404,
  NoError: 404,
  DeviceExists: 409,
  TaskExists: 409,
  DeviceInUse: 409,
  DeviceLeased: 409,
  LeaseNotFound: 404,
  ValidationError: 422,
  DaemonClosed: 503,
  Busy: 503,
  DeviceTimeoutError: 504,
};

const ORIGIN_BY_TYPE: Record<string, ErrorOrigin> = {
  DeviceCreationError: "device",
};

export function envelope(
  type: string,
  message: string,
  context: Record<string, unknown> = {},
  origin: ErrorOrigin = "framework",
): ErrorEnvelope {
  return { error: { type, message, origin, timestamp: isoNow(), context } };
}

/** A failure thrown by device (or task) code: argument problems and DeviceErrors are the caller's 400. */
export function deviceFailureStatus(err: unknown): number {
  if (err instanceof Error && err.name === "DeviceTimeoutError") return 504;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return 400;
  if (err instanceof DeviceError) return 400;
  // A framework error raised inside device code keeps its status (a DeviceInUse is still a 409), except a
  // "not found": a 404 would tell the client that the device it called does not exist.
  const status = err instanceof LabDaemonError ? STATUS_BY_TYPE[err.name] : undefined;
  return status !== undefined && status !== 404 ? status : 500;
}

export interface MappedError {
  status: number;
  body: ErrorEnvelope;
  /** Not a request problem: worth logging with its stack. */
  unexpected: boolean;
}

/** Core and server errors → status and envelope. Unknown errors become a 500 that reveals nothing. */
export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      body: envelope(err.type, err.message, err.context, err.origin),
      unexpected: err.status >= 500,
    };
  }
  if (err instanceof LabDaemonError) {
    const status = STATUS_BY_TYPE[err.name] ?? (err instanceof DeviceError ? 400 : 500);
    const origin = ORIGIN_BY_TYPE[err.name] ?? (err instanceof DeviceError ? "device" : "framework");
    return { status, body: envelope(err.name, err.message, { ...err.context }, origin), unexpected: status >= 500 };
  }
  return {
    status: 500,
    body: envelope("InternalError", "The server failed to handle the request; see the server log."),
    unexpected: true,
  };
}

/** The envelope as a Response, with JSON headers. */
export function errorResponse(status: number, body: ErrorEnvelope, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export const notFound = (what: string, context: Record<string, unknown> = {}) =>
  new HttpError(404, "NotFound", what, context);
export const invalid = (message: string, context: Record<string, unknown> = {}) =>
  new HttpError(400, "InvalidRequest", message, context);
