// The client's HTTP transport: one request with its bound, auth and lease headers, the server's error
// envelope turned into ServerAPIError, and an unreachable server into ServerConnectionError.
import { ServerAPIError, ServerConnectionError, errorFromResponse, readBounded } from "./errors.ts";
import { clip } from "../core/clip.ts";

export interface RequestOptions {
  /** This request's bound, ms (overrides the client's). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent as X-Lease-Id: the lease a command on a leased device needs (see `lease()`). */
  leaseId?: string;
}

export interface TransportOptions {
  baseUrl: string;
  token: string | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  fetchFn: typeof fetch;
}

/** Something that sends one JSON request: the ServerAPI, as the lease sees it. */
export interface Requester {
  request<T>(method: string, path: string, body?: unknown, o?: RequestOptions): Promise<T>;
}

export class Transport implements Requester {
  constructor(private readonly c: TransportOptions) {}

  /** One request: JSON in, JSON out (nothing for 204); errors as ServerAPIError / ServerConnectionError. */
  async request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    assertSegments(method, path);
    const timeoutMs = o.timeoutMs ?? this.c.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.c.token) headers.authorization = `Bearer ${this.c.token}`;
    if (o.leaseId !== undefined) headers["x-lease-id"] = o.leaseId;
    const url = this.c.baseUrl + path;
    // Outside the try below: a value JSON cannot hold is the caller's mistake, not an unreachable server.
    let payload: string | undefined;
    try {
      payload = body === undefined ? undefined : JSON.stringify(body);
    } catch (e) {
      throw new ServerAPIError(
        `${method} ${path}: the request body cannot be sent as JSON: ${(e as Error)?.message ?? e}`,
        { status: 0, type: "InvalidRequest" },
        { method, path },
        { cause: e },
      );
    }
    try {
      const res = await this.c.fetchFn(url, { method, headers, signal, body: payload });
      if (!res.ok) throw await errorFromResponse(res, method, path);
      if (res.status === 204) {
        await res.body?.cancel();
        return undefined as T;
      }
      const text = await readBounded(res, this.c.maxResponseBytes);
      if (text === null) {
        throw new ServerAPIError(
          `${method} ${path}: the answer is larger than ${this.c.maxResponseBytes} bytes (maxResponseBytes)`,
          { status: res.status, type: "InvalidResponse" },
          { method, path },
        );
      }
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new ServerAPIError(
          `Invalid JSON from ${method} ${path}: ${clip(text, 200)}`,
          { status: res.status, type: "InvalidResponse" },
          { method, path },
          { cause: e },
        );
      }
    } catch (e) {
      if (e instanceof ServerAPIError) throw e;
      if (timeout.aborted) throw timedOut(method, path, url, timeoutMs, e);
      if (o.signal?.aborted) throw e;
      throw this.unreachable(method, path, e);
    }
  }

  /**
   * A GET of a body that may be large and slow (a recording's file). The bound covers the time to the headers,
   * then each wait for the next chunk, never the whole transfer: a download that keeps arriving is not cut
   * off. Failures are ServerConnectionError (`Timeout`, or `ConnectionError` when the connection breaks); a
   * non-2xx answer is a ServerAPIError; the caller's own abort is passed on as it is.
   */
  async download(path: string, o: RequestOptions = {}): Promise<Uint8Array> {
    assertSegments("GET", path);
    const timeoutMs = o.timeoutMs ?? this.c.timeoutMs;
    const url = this.c.baseUrl + path;
    const headers: Record<string, string> = this.c.token ? { authorization: `Bearer ${this.c.token}` } : {};
    const conn = new AbortController();
    let idle = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        conn.abort();
      }, timeoutMs);
    };
    // The caller's reason goes on as it is, so its abort is not mistaken for a connection failure.
    const onAbort = () => conn.abort(o.signal?.reason);
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      arm();
      let res: Response;
      try {
        res = await this.c.fetchFn(url, { headers, signal: conn.signal });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        throw idle ? timedOut("GET", path, url, timeoutMs, e) : this.unreachable("GET", path, e);
      }
      if (!res.ok) throw await errorFromResponse(res, "GET", path);
      if (!res.body) return new Uint8Array(0);
      const chunks: Uint8Array[] = [];
      let total = 0;
      const reader = res.body.getReader();
      try {
        for (;;) {
          arm();
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (e) {
            if (o.signal?.aborted) throw e;
            throw new ServerConnectionError(
              idle
                ? `GET ${path}: no data for ${timeoutMs} ms after ${total} bytes`
                : `GET ${path}: the connection broke after ${total} bytes: ${(e as Error)?.message ?? String(e)}`,
              { status: 0, type: idle ? "Timeout" : "ConnectionError" },
              { method: "GET", path, received_bytes: total, ...(idle ? { timeout_ms: timeoutMs } : {}) },
              { cause: e },
            );
          }
          if (next.done) break;
          chunks.push(next.value);
          total += next.value.byteLength;
        }
      } finally {
        reader.cancel().catch(() => {});
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out;
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    }
  }

  private unreachable(method: string, path: string, e: unknown): ServerConnectionError {
    return new ServerConnectionError(
      `Failed to connect to ${this.c.baseUrl}: ${(e as Error)?.message ?? String(e)}`,
      { status: 0, type: "ConnectionError" },
      { method, path },
      { cause: e },
    );
  }
}

/** No answer (or, for a whole request, no complete answer) within the request's bound. */
function timedOut(method: string, path: string, url: string, timeoutMs: number, e: unknown): ServerConnectionError {
  return new ServerConnectionError(
    `Request timeout after ${timeoutMs} ms: ${method} ${url}`,
    { status: 0, type: "Timeout" },
    { method, path, timeout_ms: timeoutMs },
    { cause: e },
  );
}

/** One path segment: ids may hold characters that are not path-safe. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/**
 * An id or key of "", "." or ".." cannot travel as a path segment: URLs drop or resolve it (even as %2E),
 * so `getDevice("..")` would read GET / and hand back the server info as a device.
 */
function assertSegments(method: string, path: string): void {
  if (path === "/") return;
  const q = path.indexOf("?");
  for (const s of (q < 0 ? path : path.slice(0, q)).split("/").slice(1)) {
    if (s === "" || s === "." || s === "..") {
      throw new ServerAPIError(
        `${method} ${path}: an id or key cannot be ${s === "" ? "empty" : `'${s}'`}`,
        { status: 0, type: "InvalidRequest" },
        { method, path },
      );
    }
  }
}
