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
      if (timeout.aborted) {
        throw new ServerConnectionError(
          `Request timeout after ${timeoutMs} ms: ${method} ${url}`,
          { status: 0, type: "Timeout" },
          { method, path, timeout_ms: timeoutMs },
          { cause: e },
        );
      }
      if (o.signal?.aborted) throw e;
      throw this.unreachable(method, path, e);
    }
  }

  /** A GET whose answer is read by the caller (a file download); a non-2xx answer is a ServerAPIError. */
  async get(path: string, o: RequestOptions = {}): Promise<Response> {
    assertSegments("GET", path);
    const timeout = AbortSignal.timeout(o.timeoutMs ?? this.c.timeoutMs);
    const headers: Record<string, string> = this.c.token ? { authorization: `Bearer ${this.c.token}` } : {};
    let res: Response;
    try {
      res = await this.c.fetchFn(this.c.baseUrl + path, {
        headers,
        signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
      });
    } catch (e) {
      throw this.unreachable("GET", path, e);
    }
    if (!res.ok) throw await errorFromResponse(res, "GET", path);
    return res;
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
