// CORS: same-origin always; other origins only when listed. A request from an unlisted origin is
// refused outright, not just hidden from its page: a plain cross-site form POST could otherwise still
// connect or drive an instrument.

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
