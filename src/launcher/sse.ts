// A profile's log as Server-Sent Events: the kept lines after `since`, then each new one. A pull stream
// with a bounded queue per client: a client that stops reading loses its oldest lines (counted), never
// the launcher's memory.
import { MAX_LOG_LINES, type LogBuffer, type LogLine } from "./logBuffer.ts";

const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

const frame = (l: LogLine) => `id: ${l.seq}\nevent: log\ndata: ${JSON.stringify(l)}\n\n`;

export function logStream(buffer: LogBuffer, since: number, signal: AbortSignal): Response {
  const queue: string[] = buffer.since(since).map(frame);
  let dropped = 0;
  let wake: (() => void) | null = null;
  const unsubscribe = buffer.subscribe((line) => {
    queue.push(frame(line));
    if (queue.length > MAX_LOG_LINES) {
      queue.shift();
      dropped++;
    }
    wake?.();
  });
  const keepalive = setInterval(() => {
    queue.push(": keep-alive\n\n");
    wake?.();
  }, KEEPALIVE_MS);
  const end = () => {
    unsubscribe();
    clearInterval(keepalive);
    wake?.();
  };
  signal.addEventListener("abort", end, { once: true });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (queue.length === 0 && !signal.aborted) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (signal.aborted) {
        controller.close();
        return;
      }
      let text = "";
      if (dropped > 0) {
        text += `event: dropped\ndata: {"dropped":${dropped}}\n\n`;
        dropped = 0;
      }
      text += queue.splice(0).join("");
      controller.enqueue(encoder.encode(text));
    },
    cancel: end,
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}
