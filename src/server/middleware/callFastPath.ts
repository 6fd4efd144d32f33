// POST /devices/{id}/call, the API's hot route, straight to its handler without Elysia's router and body
// pipeline: the same handler the Elysia route runs (routes/devices.ts), the same checks and errors, ~2× the
// throughput. Anything unusual takes the normal way.
import { ID_PATTERN } from "../../core/ids.ts";
import { leaseIdOf } from "../routes/context.ts";
import type { callHandler } from "../routes/devices.ts";
import { unreadable } from "./bodyLimit.ts";
import type { Middleware } from "./compose.ts";
import type { IdleTimeouts } from "./idleTimeout.ts";
import { invalidJson } from "./jsonBody.ts";

export type CallHandler = ReturnType<typeof callHandler>;

/**
 * The device id when the request is POST /devices/{id}/call with a JSON body whose announced length is
 * within the bound (jsonBody has already refused any other declared type); else null.
 */
export function fastCallTarget(request: Request, path: string, maxBodyBytes: number): string | null {
  if (request.method !== "POST" || !path.startsWith("/devices/") || !path.endsWith("/call")) return null;
  const id = path.slice(9, -5);
  if (!ID_PATTERN.test(id)) return null;
  if (request.headers.get("content-type") === null) return null;
  const length = request.headers.get("content-length");
  if (length === null || !(Number(length) <= maxBodyBytes)) return null;
  return id;
}

export function callFastPath(opts: { call: CallHandler; maxBodyBytes: number; idle: IdleTimeouts }): Middleware {
  return async (ex, next) => {
    const id = fastCallTarget(ex.request, ex.path, opts.maxBodyBytes);
    if (id === null) return next();
    // The body is read and parsed in one native step, still under the idle timeout; then it is lifted.
    // A parse failure is the Elysia route's 422; a body that broke off mid-read is bodyLimit's 400.
    const body = await ex.request.json().catch((e: unknown) => {
      throw e instanceof SyntaxError ? invalidJson() : unreadable();
    });
    opts.idle.set(ex.routed, 0);
    return opts.call(id, body, leaseIdOf(ex.request));
  };
}
