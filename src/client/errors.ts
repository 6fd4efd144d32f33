// Client-side errors: what the server said (status, type, context from its envelope), or that it could
// not be reached at all.
import { LabDaemonError, type ErrorContext } from "../core/errors.ts";

export interface ServerErrorInfo {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** The envelope's `error.type` (e.g. "DeviceNotFound"), or a client-side name. */
  type: string;
  origin?: string;
  timestamp?: string;
}

export class ServerAPIError extends LabDaemonError {
  override name = "ServerAPIError";
  readonly status: number;
  readonly type: string;
  readonly origin: string | undefined;
  readonly timestamp: string | undefined;
  constructor(message: string, info: ServerErrorInfo, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, context, options);
    this.status = info.status;
    this.type = info.type;
    this.origin = info.origin;
    this.timestamp = info.timestamp;
  }
}

/** The server could not be reached, or did not answer in time. */
export class ServerConnectionError extends ServerAPIError {
  override name = "ServerConnectionError";
}

/** The server ended a stream with `stream_error`. */
export class StreamEndedError extends ServerAPIError {
  override name = "StreamEndedError";
}

/** Turns a non-2xx response into a ServerAPIError, reading the contract's envelope when there is one. */
export async function errorFromResponse(res: Response, method: string, path: string): Promise<ServerAPIError> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // the body may be cut off; the status still says enough
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const env = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (env && typeof env === "object" && typeof env.type === "string") {
    const ctx = env.context && typeof env.context === "object" ? (env.context as ErrorContext) : {};
    return new ServerAPIError(`${env.type}: ${String(env.message ?? "")}`, {
      status: res.status, type: env.type,
      origin: typeof env.origin === "string" ? env.origin : undefined,
      timestamp: typeof env.timestamp === "string" ? env.timestamp : undefined,
    }, ctx);
  }
  const snippet = text.slice(0, 200);
  return new ServerAPIError(`HTTP ${res.status} on ${method} ${path}${snippet ? `: ${snippet}` : ""}`,
    { status: res.status, type: "HttpError" }, { method, path });
}
