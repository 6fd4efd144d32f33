// Bearer-token check. `?token=` is accepted where a browser cannot set headers: EventSource (/stream/),
// the Swagger page (/swagger) and the OpenAPI document. /health and the Swagger UI's static assets stay open.
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";

const OPEN_PATHS = new Set(["/health"]);
const QUERY_TOKEN_PREFIXES = ["/stream/", "/swagger", "/openapi.json"];
const OPEN_PREFIXES = ["/swagger/assets/"];

const digest = (s: string) => createHash("sha256").update(s).digest();

export class TokenAuth {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new Error("token must not be empty");
    this.expected = digest(token);
  }

  static needsAuth(path: string): boolean {
    return !OPEN_PATHS.has(path) && !OPEN_PREFIXES.some((p) => path.startsWith(p));
  }

  /** Constant-time comparison on digests, so neither content nor length leaks through timing. */
  private matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.expected);
  }

  allows(request: Request, url: URL): boolean {
    const header = request.headers.get("authorization");
    if (header) {
      const m = /^Bearer\s+(.+)$/i.exec(header);
      return m !== null && this.matches(m[1]!.trim());
    }
    if (QUERY_TOKEN_PREFIXES.some((p) => url.pathname.startsWith(p))) {
      const q = url.searchParams.get("token");
      return q !== null && this.matches(q);
    }
    return false;
  }
}

/** 401 Unauthorized for a request without the token on a path that needs it; null (no check) without a token. */
export function auth(tokenAuth: TokenAuth | null): Middleware | null {
  if (tokenAuth === null) return null;
  return (ex, next) => {
    if (!TokenAuth.needsAuth(ex.path) || tokenAuth.allows(ex.request, new URL(ex.request.url))) return next();
    throw new HttpError(
      401,
      "Unauthorized",
      "A valid token is required: send 'Authorization: Bearer <token>' (in a browser: /swagger?token=<token>; streams and /openapi.json take ?token= too)",
      {},
    );
  };
}
