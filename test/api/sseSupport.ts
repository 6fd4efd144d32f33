// Helpers for the SSE tests: a server on a real socket, and a browser-style stream reader written from
// the SSE spec with nothing but fetch (independent of the client library under test).
import type { LabDaemon } from "../../src/index.ts";
import type { SseOptions, SseService } from "../../src/server/sse/index.ts";
import { startServer } from "../client/support.ts";
import { MIN_WAIT_MS } from "../support/fixtures.ts";

export interface TestServer {
  daemon: LabDaemon;
  sse: SseService;
  base: string;
  stop(): Promise<void>;
}

/** A LabDaemonServer on a free port with these SSE options. */
export async function startSseServer(opts: SseOptions = {}): Promise<TestServer> {
  const s = await startServer({ sse: opts });
  return { daemon: s.daemon, sse: s.server.sse, base: s.url, stop: () => s.stop() };
}

export interface RawEvent {
  id?: string;
  event: string;
  data: string;
}

/** A browser-style SSE reader: fetch + getReader + split on blank lines; events and comments are kept. */
export class RawStream {
  readonly events: RawEvent[] = [];
  comments = 0;
  ended = false;
  status = 0;
  private waiters: (() => void)[] = [];
  private ctrl = new AbortController();
  private res!: Response;

  static async open(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
    const s = new RawStream();
    s.res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: s.ctrl.signal });
    s.status = s.res.status;
    s.pump();
    return s;
  }

  get headers(): Headers {
    return this.res.headers;
  }

  /** Data events (not comments) parsed as JSON. */
  get data(): any[] {
    return this.events.filter((e) => e.event === "device_data").map((e) => JSON.parse(e.data));
  }

  private async pump(): Promise<void> {
    if (!this.res.body) {
      this.finish();
      return;
    }
    const reader = this.res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) !== -1) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev: RawEvent = { event: "message", data: "" };
          const data: string[] = [];
          let isComment = true;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            isComment = false;
            const i = line.indexOf(":");
            const k = line.slice(0, i),
              v = line.slice(i + 2);
            if (k === "id") ev.id = v;
            else if (k === "event") ev.event = v;
            else if (k === "data") data.push(v);
          }
          if (isComment) this.comments++;
          // As in the spec, a block without data (e.g. only `retry:`) dispatches nothing.
          else if (data.length) {
            ev.data = data.join("\n");
            this.events.push(ev);
          }
        }
        this.notify();
      }
    } catch {
      // aborted by close()
    }
    this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond()` holds (checked on every chunk); rejects after `timeoutMs` (at least MIN_WAIT_MS). */
  until(cond: () => boolean, timeoutMs = 3000, what = "stream condition"): Promise<void> {
    const guardMs = Math.max(timeoutMs, MIN_WAIT_MS);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${guardMs} ms waiting for ${what}; have ${this.events.length} events`)),
        guardMs,
      );
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else if (this.ended && !cond()) {
          clearTimeout(timer);
          reject(new Error(`stream ended before ${what}; have ${this.events.length} events`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  close(): void {
    this.ctrl.abort();
  }
}
