// How the server's middlewares chain: each gets the exchange and `next` (the rest of the chain), in order.
import type { Exchange } from "./exchange.ts";

export type Handler = (ex: Exchange) => Promise<Response>;

/**
 * One step before Elysia. A check that only throws may call `next()` without awaiting it: the throw reaches
 * the nearest awaiting middleware (mapErrors, cors) like a rejection would.
 */
export type Middleware = (ex: Exchange, next: () => Promise<Response>) => Promise<Response>;

/** `middlewares` in order, then `last`; a null entry (a concern the server's options switch off) is left out. */
export function compose(middlewares: readonly (Middleware | null)[], last: Handler): Handler {
  let handler = last;
  for (const mw of middlewares.toReversed()) {
    if (mw === null) continue;
    const next = handler;
    handler = (ex) => mw(ex, () => next(ex));
  }
  return handler;
}
