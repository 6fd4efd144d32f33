// Idle timeouts per socket. Bun cuts a client silent for `idleTimeout` seconds (headers or body still
// coming); long device operations, streams and a task's parameter reads carry their own bounds instead,
// so the timeout is lifted for them, but only once the body is in, so a stalled upload is still cut.
import type { Server } from "bun";
import type { Middleware } from "./compose.ts";

/** GET /tasks/{id}/parameters/{key}: runs the task's own getParameter, bounded by parameterTimeoutMs. */
const PARAMETER_READ = /^\/tasks\/[^/]+\/parameters\/[^/]+$/;

/** Seconds as Bun takes them: a whole number 1..255. */
export function idleSeconds(seconds: number | undefined): number {
  return Math.min(255, Math.max(1, Math.round(seconds ?? 10)));
}

/** The socket each request came on, by the request routed: timeouts belong to the request Bun handed over. */
export class IdleTimeouts {
  private readonly sockets = new WeakMap<Request, { srv: Server<unknown>; request: Request }>();

  /** `routed` (the exchange's key) came as `request` on `srv`. */
  remember(routed: Request, srv: Server<unknown>, request: Request): void {
    this.sockets.set(routed, { srv, request });
  }

  /** Sets the idle timeout (seconds; 0: none) of the socket `routed` came on; nothing without a socket. */
  set(routed: Request, seconds: number): void {
    const socket = this.sockets.get(routed);
    if (!socket) return;
    try {
      socket.srv.timeout(socket.request, seconds);
    } catch {
      // the request is already over
    }
  }
}

/** Lifts the idle timeout for every request but a plain GET (streams and parameter reads lift it too). */
export function liftIdleTimeout(timeouts: IdleTimeouts): Middleware {
  return (ex, next) => {
    if (ex.request.method !== "GET" || ex.path.startsWith("/stream/") || PARAMETER_READ.test(ex.path))
      timeouts.set(ex.routed, 0);
    return next();
  };
}
