// The bound on request bodies: 413 with the envelope, at once when the declared length is over it. The body
// is read here, while the idle timeout still applies, so a client that stalls mid-body is cut off by it
// instead of holding a socket once a route lifts the timeout.
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";

/** Largest request body accepted by default, bytes. */
export const MAX_BODY_BYTES = 1 << 20;

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "PayloadTooLarge", `Request body exceeds ${maxBytes} bytes`, { limit_bytes: maxBytes });
}

/**
 * Requests that may carry a body go on with it buffered (a copy of the request); a GET or HEAD whose
 * announced body is over the bound is refused (no route reads it, but it is still the client's mistake).
 */
export function bodyLimit(maxBytes: number): Middleware {
  return async (ex, next) => {
    if (ex.request.method !== "GET" && ex.request.method !== "HEAD") ex.request = await boundBody(ex.request, maxBytes);
    else if (Number(ex.request.headers.get("content-length")) > maxBytes) throw tooLarge(maxBytes);
    return next();
  };
}

/** 413 for a body over the bound (by Content-Length at once when given); the body is read before anything else. */
async function boundBody(request: Request, maxBytes: number): Promise<Request> {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > maxBytes) throw tooLarge(maxBytes);
  if (length === "0" || !request.body) return request;
  if (length !== null) {
    // One native read of the announced length (a stalled sender is cut by the idle timeout meanwhile).
    const bytes = await request.arrayBuffer().catch(() => {
      throw unreadable();
    });
    return new Request(request.url, { method: request.method, headers: request.headers, body: bytes });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    // A client that stalls mid-body is cut by the idle timeout; that is its failure, not the server's.
    const { done, value } = await reader.read().catch(() => {
      throw unreadable();
    });
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return new Request(request.url, { method: request.method, headers: request.headers, body: Buffer.concat(chunks) });
}

/** 400 for a body that broke off or stalled while being read: the client's failure, whichever way it was read. */
export function unreadable(): HttpError {
  return new HttpError(400, "InvalidRequest", "The request body could not be read (connection closed or timed out)");
}
