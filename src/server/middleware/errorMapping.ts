// Failures as the error envelope: what the pipeline throws, and what Elysia reports (no route: 404 or 405
// with Allow; schema validation and JSON parsing: 422). Unexpected failures are logged with their stack.
import { envelope, errorResponse, mapError } from "../errors.ts";
import type { Middleware } from "./compose.ts";
import { splitUrl } from "./exchange.ts";
import { invalidJson } from "./jsonBody.ts";
import type { ServerLog } from "./requestLog.ts";
import { clip } from "../../core/clip.ts";

const MAX_REPORTED_ERRORS = 20;

export class ErrorMapping {
  private allowMatchers: { method: string; re: RegExp }[] | null = null;

  constructor(
    /** The app's routes (read once, on the first 404), for 405 with an Allow header. */
    private readonly routes: () => readonly { method: string; path: string }[],
    private readonly log: ServerLog,
  ) {}

  /** Any thrown value → its envelope and status (401 with `WWW-Authenticate`). */
  toResponse(error: unknown, request: Request): Response {
    const m = mapError(error);
    if (m.unexpected) this.log.log("error", `labdaemon: ${request.method} ${splitUrl(request.url).path} failed`, error);
    return errorResponse(m.status, m.body, m.status === 401 ? { "www-authenticate": "Bearer" } : {});
  }

  /** Elysia's `onError`: its codes for no route, validation and parsing, else `toResponse`. */
  fromElysia(code: unknown, error: unknown, request: Request): Response {
    if (code === "NOT_FOUND") return this.noRoute(request);
    if (code === "VALIDATION") {
      const v = error as { type?: string; all?: ValueError[] };
      const errors = (v.all ?? [])
        .slice(0, MAX_REPORTED_ERRORS)
        .map((e) => ({ path: e.path ?? "", message: summaryOf(e) }));
      const where = v.type ?? "request";
      const message =
        where === "body" && errors.length > 0 && errors[0]!.path === ""
          ? "Request body must be a JSON object"
          : `Invalid ${where}: ${errors[0]?.message ?? "validation failed"}`;
      return errorResponse(422, envelope("ValidationError", message, { location: where, errors }));
    }
    if (code === "PARSE") return this.toResponse(invalidJson(), request);
    return this.toResponse(error, request);
  }

  /** 405 when another method has a route on the path, else 404. */
  private noRoute(request: Request): Response {
    const { path } = splitUrl(request.url);
    const allowed = this.allowedMethods(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return errorResponse(
        405,
        envelope("MethodNotAllowed", `Method ${clip(request.method, 20)} is not allowed on ${clip(path, 200)}`, {
          allowed,
        }),
        { allow: allowed.join(", ") },
      );
    }
    return errorResponse(404, envelope("NotFound", `No route for ${clip(request.method, 20)} ${clip(path, 200)}`, {}));
  }

  /** Methods that have a route matching `path`. */
  private allowedMethods(path: string): string[] {
    this.allowMatchers ??= this.routes().map((r) => ({
      method: r.method,
      re: new RegExp(
        `^${r.path
          .split("/")
          .map((seg) =>
            seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
          )
          .join("/")}/?$`,
      ),
    }));
    const methods = new Set<string>();
    for (const m of this.allowMatchers) if (m.re.test(path)) methods.add(m.method);
    return [...methods];
  }
}

/** One problem as Elysia reports it (typebox's error with Elysia's `summary`). */
interface ValueError {
  path?: string;
  message?: string;
  summary?: string;
  value?: unknown;
  schema?: { anyOf?: { const?: unknown }[] };
}

/**
 * Elysia's summary of a value outside a union of literals names each member's JSON type ("should be one of:
 * 'string', 'string'"); the values themselves are what a client can send.
 */
function summaryOf(e: ValueError): string {
  const members = e.schema?.anyOf;
  if (members?.length && members.every((m) => m !== null && typeof m === "object" && "const" in m)) {
    const what = e.path ? `Property '${e.path.slice(1).replaceAll("/", ".")}'` : "Value";
    const choices = members.map((m) => `'${String(m.const)}'`).join(", ");
    return `${what} should be one of: ${choices}, got '${clip(String(e.value), 40)}'`;
  }
  return e.summary ?? e.message ?? "";
}

/** Whatever the rest of the chain throws, answered as its envelope. */
export function mapErrors(mapping: ErrorMapping): Middleware {
  return async (ex, next) => {
    try {
      return await next();
    } catch (e) {
      return mapping.toResponse(e, ex.request);
    }
  };
}
