// Which bind addresses are this machine's loopback, and which Host names a server without a token
// answers: a page whose DNS name an attacker rebinds to the server's address is "same-origin" with it,
// so without a token only names DNS cannot rebind are served.

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
