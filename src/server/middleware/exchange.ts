// What every middleware sees of one request: the request, its path and origin split once, and the socket key.

export interface Exchange {
  /** The request as it goes on; replaced when its body is buffered (bodyLimit). */
  request: Request;
  /** The request the socket is known by (idleTimeout), whatever copy `request` becomes later. */
  readonly routed: Request;
  /** The path without the query, as the client sent it. */
  readonly path: string;
  /** "http://host:port" as the client named it in its Host header. */
  readonly origin: string;
}

/** "http://" plus a host of at least four characters: what Elysia's path lookup assumes. */
const MIN_ORIGIN_LENGTH = 11;

/**
 * The exchange for a request as Bun hands it over. Elysia looks for the path from character 11 of the URL
 * on: a short Host header ("Host: x") would let it route `/health?x=/devices` to /devices while auth saw
 * /health, so such URLs are re-anchored on `selfUrl()` (the server's own) first.
 */
export function exchangeOf(request: Request, selfUrl: () => string): Exchange {
  const { path, origin } = splitUrl(request.url);
  if (origin.length < MIN_ORIGIN_LENGTH) request = new Request(selfUrl() + request.url.slice(origin.length), request);
  return { request, routed: request, path, origin };
}

/** Path and origin without building a URL object (this runs for every request). */
export function splitUrl(url: string): { path: string; origin: string } {
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (slash < 0) return { path: "/", origin: url };
  const q = url.indexOf("?", slash);
  return { path: url.slice(slash, q < 0 ? undefined : q), origin: url.slice(0, slash) };
}
