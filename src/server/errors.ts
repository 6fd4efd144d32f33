// The one place where failures become HTTP: the envelope and the status for every error type, read from
// the catalogue (errorCatalogue.ts).
import { DeviceError, LabDaemonError } from "../core/errors.ts";
import { isoNow, type ErrorOrigin } from "../core/events.ts";
import { catalogued, ERROR_CATALOGUE, type ResponseErrorType, type StatusOf } from "./errorCatalogue.ts";
import type { ErrorEnvelope } from "./schemas.ts";

/**
 * A failure the server itself decides (bad request fields, 401, 413 …), already knowing its status. The
 * type must be catalogued with that status; the origin defaults to the catalogue's.
 */
export class HttpError<T extends ResponseErrorType = ResponseErrorType> extends Error {
  readonly status: number;
  /** A catalogued type, except for `HttpError.thrown`'s pass-through of a class name. */
  readonly type: string;
  readonly context: Record<string, unknown>;
  readonly origin: ErrorOrigin;
  constructor(
    status: StatusOf<T>,
    type: T,
    message: string,
    context: Record<string, unknown> = {},
    origin: ErrorOrigin = ERROR_CATALOGUE[type].origin,
  ) {
    super(message);
    this.status = status as number;
    this.type = type;
    this.name = type;
    this.context = context;
    this.origin = origin;
  }

  /**
   * What device or task code threw, under its own class name (the contract's pass-through: the type is
   * then not catalogued, and the status is decided by `deviceFailureStatus`).
   */
  static thrown(status: number, name: string, message: string, context: Record<string, unknown>): HttpError {
    const e = new HttpError(500, "InternalError", message, context, "device");
    return Object.assign(e, { status, type: name, name });
  }
}

export function envelope(
  type: ResponseErrorType,
  message: string,
  context: Record<string, unknown> = {},
  origin: ErrorOrigin = ERROR_CATALOGUE[type].origin,
): ErrorEnvelope {
  return body(type, message, context, origin);
}

function body(type: string, message: string, context: Record<string, unknown>, origin: ErrorOrigin): ErrorEnvelope {
  return { error: { type, message, origin, timestamp: isoNow(), context } };
}

/** The catalogued status of a LabDaemonError, or undefined (an uncatalogued name, or a stream-only type). */
function statusOf(err: LabDaemonError): number | undefined {
  return catalogued(err.name)?.status ?? undefined;
}

/** A failure thrown by device (or task) code: argument problems and DeviceErrors are the caller's 400. */
export function deviceFailureStatus(err: unknown): number {
  if (err instanceof Error && err.name === "DeviceTimeoutError") return ERROR_CATALOGUE.DeviceTimeoutError.status;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return 400;
  if (err instanceof DeviceError) return 400;
  // A framework error raised inside device code keeps its status (a DeviceInUse is still a 409), except a
  // "not found": a 404 would tell the client that the device it called does not exist.
  const status = err instanceof LabDaemonError ? statusOf(err) : undefined;
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
      body: body(err.type, err.message, err.context, err.origin),
      unexpected: err.status >= 500,
    };
  }
  if (err instanceof LabDaemonError) {
    // A subclass defined outside core (a driver's DeviceError) is uncatalogued: its family decides.
    const status = statusOf(err) ?? (err instanceof DeviceError ? 400 : 500);
    const origin = catalogued(err.name)?.origin ?? (err instanceof DeviceError ? "device" : "framework");
    return { status, body: body(err.name, err.message, { ...err.context }, origin), unexpected: status >= 500 };
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
