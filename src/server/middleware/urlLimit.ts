// Checks on the request target (path and query) before any route sees it: an over-long URL and a path
// whose percent-encoding does not decode are the client's mistake, answered here with their own 4xx.
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";
import { clip } from "../../core/clip.ts";

/**
 * Longest path + query served, bytes. Bun answers a header section over 16 KiB (the request line
 * included) itself, with a bodiless 431; this bound lets the envelope answer the long URLs below that.
 */
export const MAX_TARGET_BYTES = 8192;

/** 414 for a target over MAX_TARGET_BYTES; 400 for a path whose %-escapes are not UTF-8. */
export function assertRequestTarget(targetLength: number, path: string): void {
  if (targetLength > MAX_TARGET_BYTES) {
    throw new HttpError(
      414,
      "URITooLong",
      `The request URL is ${targetLength} bytes long; the limit is ${MAX_TARGET_BYTES}`,
      { limit_bytes: MAX_TARGET_BYTES },
    );
  }
  if (!path.includes("%")) return;
  try {
    decodeURIComponent(path);
  } catch {
    // Elysia's router would hand such a segment to the handlers as null (a misleading "not found") or throw.
    throw new HttpError(
      400,
      "InvalidRequest",
      "The request path has a malformed percent-encoding: each '%' must start an escape (%XX) of valid UTF-8",
      { path: clip(path, 200) },
    );
  }
}

/** `assertRequestTarget` on every request, before any route or page sees its URL. */
export const urlLimit: Middleware = (ex, next) => {
  assertRequestTarget(ex.request.url.length, ex.path);
  return next();
};
