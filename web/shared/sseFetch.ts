// Server-Sent Events read with fetch, so the token travels in the Authorization header (EventSource
// cannot set headers): reconnects with Last-Event-ID after a drop, until the signal aborts or the token
// is refused (401).
import { currentToken } from "./api.ts";

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** Calls `onEvent` for each event of `path` until `signal` aborts; `onStatus` hears connects and drops. */
export async function followEvents(
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  onStatus: (connected: boolean, why?: string) => void = () => {},
): Promise<void> {
  let lastId: string | null = null;
  let backoff = 500;
  while (!signal.aborted) {
    try {
      const headers = new Headers({ Accept: "text/event-stream" });
      const token = currentToken();
      if (token) headers.set("Authorization", `Bearer ${token}`);
      if (lastId !== null) headers.set("Last-Event-ID", lastId);
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) {
        // The token is wrong for good (a server restarted with another secret): retrying cannot help.
        onStatus(false, "HTTP 401");
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onStatus(true);
      backoff = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let at: number;
        while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at).replace(/^\r?\n\r?\n/, "");
          const e: SseEvent = { event: "message", id: null, data: "" };
          const data: string[] = [];
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") e.event = value;
            else if (field === "id") e.id = lastId = value;
            else if (field === "data") data.push(value);
          }
          if (data.length === 0) continue;
          e.data = data.join("\n");
          onEvent(e);
        }
      }
      onStatus(false, "the stream ended");
    } catch (err) {
      if (signal.aborted) return;
      onStatus(false, (err as Error).message);
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 10_000);
  }
}
