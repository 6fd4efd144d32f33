// What every route module needs from the server, passed in rather than imported, so routes stay testable.
import { isPlainObject } from "../../core/ids.ts";
import { HttpError, invalid } from "../errors.ts";
import type { LabDaemon } from "../../core/daemon.ts";
import type { SseService } from "../sse/index.ts";
import type { ErrorStore } from "../errorStore.ts";
import type { DataStore } from "../../data/dataStore.ts";

export interface RouteContext {
  daemon: LabDaemon;
  errors: ErrorStore;
  sse: SseService;
  /** Bound on POST /connect and /disconnect, ms. */
  connectTimeoutMs: number;
  /** Bound on POST /call when the device has no callTimeoutMs of its own, ms. */
  callTimeoutMs: number;
  /** Bound on stream stop and device removal, ms. */
  stopTimeoutMs: number;
  /** Bound on a task's own setParameter/getParameter, ms. */
  parameterTimeoutMs: number;
  /** The data directory (task history, recordings), when the server has one. */
  data?: DataStore | null;
}

/** `?force=true` style flags: absent → false; anything but true/false/1/0 is refused. */
export function flag(value: unknown): boolean | null {
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  return null;
}

/**
 * The body as an object, or 422. Elysia hands over any JSON value unchecked (the schemas only document); the
 * handlers check the fields themselves, so the Python LabDaemon's 400 messages hold, starting from here.
 */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(
      422,
      "ValidationError",
      "Request body must be a JSON object (sent as Content-Type: application/json)",
      { location: "body", errors: [{ path: "", message: "Expected object" }] },
    );
  }
  return body as Record<string, unknown>;
}

/**
 * `{<kind>_id, <kind>_type, params?}` of POST /devices and POST /tasks, checked in the Python LabDaemon's order
 * with its messages ("device_id is required", "params must be a dict" …).
 */
export function creationRequest(
  body: unknown,
  kind: "device" | "task",
): { id: string; type: string; params: Record<string, unknown> } {
  const b = objectBody(body);
  for (const field of [`${kind}_id`, `${kind}_type`]) {
    if (!b[field]) throw invalid(`${field} is required`);
    if (typeof b[field] !== "string") throw invalid(`${field} must be a string`);
  }
  const params = b.params === undefined ? {} : b.params;
  if (!isPlainObject(params)) throw invalid("params must be a dict");
  return { id: b[`${kind}_id`] as string, type: b[`${kind}_type`] as string, params };
}

/**
 * The body of a route that takes none. One sent anyway is ignored, but it must be JSON: a malformed body
 * is the client's mistake and is refused (400) before the route acts. The server has already read and
 * bounded the body, so this costs no wait.
 */
export async function noBody(request: Request): Promise<void> {
  const text = await request.text().catch(() => "");
  if (text.trim() === "") return;
  try {
    JSON.parse(text);
  } catch {
    throw invalid("This route takes no request body; one sent anyway must be valid JSON (nothing was done)", {
      location: "body",
    });
  }
}

/** The header that carries a client's lease on a device (POST /devices/{id}/lease gives it). */
export const LEASE_HEADER = "x-lease-id";

/** The lease id a request carries, if any. */
export function leaseIdOf(request: Request): string | undefined {
  return request.headers.get(LEASE_HEADER) ?? undefined;
}
