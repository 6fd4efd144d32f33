// Who may talk to the launcher: requests to its own loopback address by name (no DNS rebinding), from
// its own page or from no page at all (no CSRF, no CORS), carrying the per-launch secret.
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../server/errors.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

export class LauncherGuard {
  private readonly secret: Buffer;
  private readonly hosts: Set<string>;

  constructor(
    secret: string,
    readonly port: number,
  ) {
    this.secret = digest(secret);
    this.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  }

  /** Throws the refusal for a request that must not be served; `needsSecret` for the API (not the page). */
  check(request: Request, needsSecret: boolean): void {
    const host = (request.headers.get("host") ?? "").toLowerCase();
    if (!this.hosts.has(host)) {
      throw new HttpError(
        403,
        "ForbiddenHost",
        `Host '${host}' is not this launcher's address (127.0.0.1:${this.port})`,
        { host },
      );
    }
    const origin = request.headers.get("origin");
    if (origin !== null && !(origin.startsWith("http://") && this.hosts.has(origin.slice(7).toLowerCase()))) {
      throw new HttpError(403, "ForbiddenOrigin", `requests from pages of ${origin} are refused`, { origin });
    }
    if (request.headers.get("sec-fetch-site") === "cross-site") {
      throw new HttpError(403, "ForbiddenOrigin", "cross-site requests are refused", {});
    }
    if (!needsSecret) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    if (!m || !timingSafeEqual(digest(m[1]!), this.secret)) {
      throw new HttpError(
        401,
        "Unauthorized",
        "this launcher's API needs 'Authorization: Bearer SECRET' (the token= of the URL it printed)",
      );
    }
  }
}
