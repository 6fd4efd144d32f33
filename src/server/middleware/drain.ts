// Requests in flight while the server stops: each gets its own answer if it comes before the stop's
// deadline, else a 503 envelope at it, so no client is left with a connection closed and no answer.
import { envelope, errorResponse } from "../errors.ts";
import type { Middleware } from "./compose.ts";

type Settle = (res: Response) => void;

export class RequestDrain {
  /** The requests in flight, each by the function that answers it early. Bounded by the open connections. */
  readonly #inFlight = new Set<Settle>();
  #stopping = false;

  /** True from `beginStop()` on: new requests are answered 503 at once. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * `answer`'s own outcome, unless `cut()` comes first: then the 503 (the handler's answer is dropped).
   * A plain set of resolvers, not a race against one shared promise: that would keep a reaction per
   * request for the server's whole life.
   */
  track(answer: Promise<Response>): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const settle: Settle = resolve;
      this.#inFlight.add(settle);
      answer.then(
        (res) => {
          if (this.#inFlight.delete(settle)) resolve(res);
        },
        (err: unknown) => {
          if (this.#inFlight.delete(settle)) reject(err);
        },
      );
    });
  }

  /** Requests whose answer is still awaited. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The answer to a request that arrived after the stop began. */
  refused(): Response {
    return shuttingDown("was not started");
  }

  beginStop(): void {
    this.#stopping = true;
  }

  /** The deadline: every request still in flight is answered 503 now. */
  cut(): void {
    const settles = [...this.#inFlight];
    this.#inFlight.clear();
    for (const settle of settles)
      settle(shuttingDown("did not finish before the server's stop deadline; it may still have taken effect"));
  }

  /** Serving again (a server can be started after it stopped). */
  reset(): void {
    this.#stopping = false;
  }
}

function shuttingDown(what: string): Response {
  // `Connection: close`: the client must not reuse a connection the server is about to close.
  return errorResponse(503, envelope("ServerShuttingDown", `The server is shutting down: the request ${what}`), {
    connection: "close",
  });
}

/** Every request is answered 503 once the stop began, and the ones in flight are tracked until answered. */
export function drainGate(drain: RequestDrain): Middleware {
  return async (_ex, next) => (drain.stopping ? drain.refused() : drain.track(next()));
}
