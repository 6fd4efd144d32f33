// CORS: same-origin always; other origins only when listed. A request from an unlisted origin is
// refused outright, not just hidden from its page: a plain cross-site form POST could otherwise still
// connect or drive an instrument.
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";
import { clip } from "../../core/clip.ts";

const ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, Cache-Control, X-Lease-Id";
const ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS";

export type CorsVerdict = "no-origin" | "same-origin" | "allowed" | "rejected";

export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[] = []) {
    for (const o of origins) {
      if (o === "*") throw new Error("CORS origin '*' is not allowed: list the origins explicitly");
    }
    this.origins = new Set(origins.map(normaliseOrigin));
  }

  verdict(origin: string | null, selfOrigin: string): CorsVerdict {
    if (origin === null) return "no-origin";
    if (origin === selfOrigin) return "same-origin";
    return this.origins.has(origin) ? "allowed" : "rejected";
  }

  /** Headers for a response to an allowed cross-origin request. */
  headers(origin: string): Record<string, string> {
    return {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    };
  }

  preflightHeaders(origin: string): Record<string, string> {
    return {
      ...this.headers(origin),
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": "600",
    };
  }
}

/**
 * An origin as browsers send it: lower-case scheme and host, no default port, no path. "HTTP://Dash:80/"
 * is listed as "http://dash", or it would never match. What is not a URL is kept as given.
 */
function normaliseOrigin(o: string): string {
  try {
    const origin = new URL(o).origin;
    if (origin !== "null") return origin;
  } catch {
    // not a URL
  }
  return o.replace(/\/+$/, "");
}

/**
 * 403 CorsOriginNotAllowed for an unlisted origin; 204 to an allowed origin's preflight; the CORS headers on
 * every answer to an allowed origin, errors included (`toResponse` maps them here: a browser can read an
 * error only with the headers).
 */
export function cors(policy: CorsPolicy, toResponse: (error: unknown, request: Request) => Response): Middleware {
  return async (ex, next) => {
    const origin = ex.request.headers.get("origin");
    if (origin === null) {
      // Browsers send no Origin on a plain GET another site's page makes (<img src>, <script src>), yet
      // such a GET can start a device stream; they do say where it comes from. Following a link is fine.
      const site = ex.request.headers.get("sec-fetch-site");
      if ((site === "cross-site" || site === "same-site") && ex.request.headers.get("sec-fetch-mode") !== "navigate") {
        throw new HttpError(
          403,
          "CorsOriginNotAllowed",
          `A request another site's page made (Sec-Fetch-Site: ${site}) is not allowed; open the page from this server, or list its origin in the server's cors option`,
          { sec_fetch_site: site },
        );
      }
      return next();
    }
    const verdict = policy.verdict(origin, ex.origin);
    if (verdict === "rejected") {
      throw new HttpError(
        403,
        "CorsOriginNotAllowed",
        `Origin '${clip(origin, 200)}' is not allowed; list it in the server's cors option`,
        { origin: clip(origin, 200) },
      );
    }
    if (verdict !== "allowed") return next();
    if (ex.request.method === "OPTIONS")
      return new Response(null, { status: 204, headers: policy.preflightHeaders(origin) });
    let res: Response;
    try {
      res = await next();
    } catch (e) {
      res = toResponse(e, ex.request);
    }
    return withHeaders(res, policy.headers(origin));
  };
}

/** `res` with `headers` set; a copy when its headers are immutable (a fetched or static response). */
function withHeaders(res: Response, headers: Record<string, string>): Response {
  try {
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}
