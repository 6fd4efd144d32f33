// Bearer-token check. `?token=` is accepted where a browser cannot set headers: EventSource (/stream/),
// the Swagger page (/swagger) and the OpenAPI document. /health and the Swagger UI's static assets stay open.
import { createHash, timingSafeEqual } from "node:crypto";

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
