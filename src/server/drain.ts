// Requests in flight while the server stops: each gets its own answer if it comes before the stop's
// deadline, else a 503 envelope at it, so no client is left with a connection closed and no answer.
import { envelope, errorResponse } from "./errors.ts";

const CUT = Symbol("cut");

export class RequestDrain {
  #cut = Promise.withResolvers<typeof CUT>();
  #stopping = false;

  /** True from `beginStop()` on: new requests are answered 503 at once. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** `answer`, unless the deadline passes first: then the 503 (the handler's own answer is dropped). */
  async answer(answer: Promise<Response>): Promise<Response> {
    const first = await Promise.race([answer, this.#cut.promise]);
    return first === CUT ? shuttingDown("did not finish before the server's stop deadline; it may still have taken effect") : first;
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
    this.#cut.resolve(CUT);
  }

  /** Ready to serve again (a server can be started after it stopped). */
  reset(): void {
    this.#stopping = false;
    this.#cut = Promise.withResolvers<typeof CUT>();
  }
}

function shuttingDown(what: string): Response {
  // `Connection: close`: the client must not reuse a connection the server is about to close.
  return errorResponse(503, envelope("ServerShuttingDown", `The server is shutting down: the request ${what}`), { connection: "close" });
}
