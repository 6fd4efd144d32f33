// Client-side errors: what the server said (status, type, context from its envelope), or that it could
// not be reached at all.
import { LabDaemonError, type ErrorContext } from "../core/errors.ts";
import { clip } from "../core/clip.ts";

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

/**
 * A stream ended: the server's `stream_error`, its 204 to a reconnect (type `StreamStoppedByClient`), or the
 * client giving up (`RetriesExhausted`). `type` says which, and whether the client reconnects after it.
 */
export class StreamEndedError extends ServerAPIError {
  override name = "StreamEndedError";
}

/** An error body is an envelope of a few hundred bytes: more than this is not worth holding. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The body as text, or null when it is longer than `maxBytes` (it is then cancelled, not read on):
 * a broken proxy or server answering with an endless body must not fill the client's memory.
 */
export async function readBounded(res: Response, maxBytes: number): Promise<string | null> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) return null;
      chunks.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  // One decoder over the chunks in turn: no Buffer, so the client also runs in browsers and Deno.
  const decoder = new TextDecoder();
  return chunks.map((c, i) => decoder.decode(c, { stream: i < chunks.length - 1 })).join("");
}

/** Turns a non-2xx response into a ServerAPIError, reading the contract's envelope when there is one. */
export async function errorFromResponse(res: Response, method: string, path: string): Promise<ServerAPIError> {
  let text = "";
  try {
    text = (await readBounded(res, MAX_ERROR_BODY_BYTES)) ?? "";
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
    return new ServerAPIError(
      `${env.type}: ${String(env.message ?? "")}`,
      {
        status: res.status,
        type: env.type,
        origin: typeof env.origin === "string" ? env.origin : undefined,
        timestamp: typeof env.timestamp === "string" ? env.timestamp : undefined,
      },
      ctx,
    );
  }
  const snippet = clip(text, 200);
  return new ServerAPIError(
    `HTTP ${res.status} on ${method} ${path}${snippet ? `: ${snippet}` : ""}`,
    { status: res.status, type: "HttpError" },
    { method, path },
  );
}
