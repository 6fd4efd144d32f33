// What every page needs to speak to its server: the token kept for this tab, fetch with the token as a
// header, EventSource URLs with it as ?token=, and the server's error envelope surfaced as it is.
const TOKEN_KEY = "labdaemon.token";

export interface ErrorEnvelope {
  error: {
    type: string;
    message: string;
    origin?: string;
    timestamp?: string;
    context?: Record<string, unknown>;
    traceback?: string;
  };
}

/** A non-2xx answer: its status and the envelope the server sent (or one made up when it sent none). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly envelope: ErrorEnvelope,
  ) {
    super(`${status} ${envelope.error.type}: ${envelope.error.message}`);
  }
  get type(): string {
    return this.envelope.error.type;
  }
}

/** The token from ?token= (then dropped from the address bar) or from this tab's sessionStorage. */
export function takeToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl !== null) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return currentToken();
}

/** The token this tab holds, if any (without looking at the address bar). */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** JSON request to the page's own server; resolves with the parsed body, rejects with ApiError. */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  init: RequestInit = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  const token = currentToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const res = await fetch(path, {
    ...init,
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const envelope = isEnvelope(parsed)
      ? parsed
      : { error: { type: `HTTP${res.status}`, message: text.slice(0, 300) || res.statusText } };
    throw new ApiError(res.status, envelope);
  }
  return (parsed ?? text) as T;
}

/** An EventSource URL on the page's server, carrying the token when there is one. */
export function streamUrl(path: string, query: Record<string, string> = {}): string {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const token = currentToken();
  if (token) url.searchParams.set("token", token);
  return url.pathname + url.search;
}

function isEnvelope(v: unknown): v is ErrorEnvelope {
  return typeof v === "object" && v !== null && typeof (v as ErrorEnvelope).error?.type === "string";
}
