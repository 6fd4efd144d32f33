// The Host check of a server without a token: a page whose DNS name an attacker rebinds to the server's
// address is "same-origin" with it and could drive the instruments, so only names DNS cannot rebind are
// served (loopback names; on a wider bind, IP addresses too). Which bind addresses are loopback lives here too.
import { HttpError } from "../errors.ts";
import type { Middleware } from "./compose.ts";
import { clip } from "../../core/clip.ts";

/** Bind addresses only this machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Host names that can only mean this machine's loopback (the Host header's, port removed). No Host at all
 * (HTTP/1.0) passes too: a browser always sends one, so it is no rebinding.
 */
const LOOPBACK_HOST = /^(?:(?:localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])\.?)?$/i;
/** An address typed as such (http://192.168.1.5:5000/, http://[fe80::1]:5000/): no DNS name to rebind. */
const IP_LITERAL_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+(?:%25[0-9a-z._~-]+)?\])$/i;

export type HostCheck = "loopback" | "address";

/** What a server without a token checks Host names against; null when it has a token. */
export function hostCheckFor(host: string, hasToken: boolean): HostCheck | null {
  if (hasToken) return null;
  return isLoopbackAddress(host) ? "loopback" : "address";
}

/** Whether a request naming `hostName` (the Host header without its port) may be served. */
export function hostAllowed(hostName: string, check: HostCheck): boolean {
  return LOOPBACK_HOST.test(hostName) || (check === "address" && IP_LITERAL_HOST.test(hostName));
}

/** "http://name:port" → "name" ("[::1]" keeps its brackets; "[::1]evil" is kept whole, so it is no loopback name). */
export function hostName(origin: string): string {
  const start = origin.indexOf("://") + 3;
  if (origin[start] === "[") {
    const close = origin.indexOf("]", start) + 1;
    const after = origin[close];
    if (close > start && (after === undefined || after === ":")) return origin.slice(start, close);
    return origin.slice(start);
  }
  const end = origin.indexOf(":", start);
  return origin.slice(start, end > start ? end : undefined);
}

/** 403 HostNotAllowed for a Host name `check` does not serve; null (no check) for a server with a token. */
export function hostCheck(check: HostCheck | null): Middleware | null {
  if (check === null) return null;
  return (ex, next) => {
    // A Host header Bun could not make a URL of ("evil.com#x", "127.0.0.1@evil.com") leaves no origin:
    // that is not the "no Host at all" of HTTP/1.0, so it is judged by the header itself.
    const header = ex.request.headers.get("host");
    const name = header !== null && ex.origin === "" ? header : hostName(ex.origin);
    if (hostAllowed(name, check)) return next();
    const host = clip(name, 200);
    throw new HttpError(
      403,
      "HostNotAllowed",
      check === "loopback"
        ? `Host '${host}' is not a loopback name; this server listens on loopback without a token (set a token to serve other names)`
        : `Host '${host}' is not an IP address or loopback name; this server has no token, so a DNS name could be a rebinding attack (set a token to serve names)`,
      { host },
    );
  };
}
