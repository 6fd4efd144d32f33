// Request bodies are JSON. A form or text body would otherwise reach the handlers parsed by Elysia as an
// object (`method=reset` would call reset()), so any other declared type is refused before routing.
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";
import { clip } from "../../core/clip.ts";

/** 422 for a body sent with a declared type other than application/json (no type, or an empty body, passes). */
export function assertJsonBody(request: Request): void {
  const type = request.headers.get("content-type");
  if (type === null || request.headers.get("content-length") === "0") return;
  const mime = type.split(";", 1)[0]!.trim().toLowerCase();
  if (mime === "application/json") return;
  throw new HttpError(
    422,
    "ValidationError",
    `Request bodies are JSON: send Content-Type: application/json (got '${clip(mime, 100)}')`,
    { location: "body", errors: [{ path: "", message: "Expected application/json" }] },
  );
}

/** The error for a body that does not parse as JSON, whichever way it was read (Elysia's or the fast path's). */
export function invalidJson(): HttpError {
  return new HttpError(422, "ValidationError", "Request body is not valid JSON", { location: "body", errors: [] });
}

/**
 * `assertJsonBody` on every request that may carry a body (GET and HEAD bodies are never read); a JSON type
 * written in another case ("Application/JSON") is passed on as "application/json", the only spelling
 * Elysia's body parser knows (it would hand the routes no body, where the /call fast path reads it).
 */
export const jsonBody: Middleware = (ex, next) => {
  if (ex.request.method !== "GET" && ex.request.method !== "HEAD") {
    assertJsonBody(ex.request);
    const type = ex.request.headers.get("content-type");
    if (type !== null && !type.startsWith("application/json")) {
      const headers = new Headers(ex.request.headers);
      const params = type.indexOf(";");
      headers.set("content-type", `application/json${params < 0 ? "" : type.slice(params)}`);
      ex.request = new Request(ex.request, { headers });
    }
  }
  return next();
};
