// One SSE connection on its own: its queue, and how it ends when its client stops reading.
import { expect, test } from "bun:test";
import { SseConnection } from "../../src/server/sse/connection.ts";
import { bytes } from "../../src/server/sse/format.ts";

test("a stream the server ended is cut off after drainTimeoutMs when its client never reads", async () => {
  let closes = 0;
  const conn = new SseConnection({
    limits: { maxEvents: 16, maxBytes: 1 << 20 },
    keepAliveMs: 10,
    drainTimeoutMs: 50,
    signal: new AbortController().signal,
    onClose: () => closes++,
  });
  conn.push(bytes("data: 1\n\n"));
  conn.end(bytes("event: stream_error\ndata: {}\n\n"));
  expect(conn.isOpen).toBe(false);
  const t0 = performance.now();
  // Nobody reads conn.stream: only the 50 ms drain deadline can close it (the sleep is a hang guard).
  const closed = await Promise.race([conn.closed.then(() => true), Bun.sleep(20_000).then(() => false)]);
  expect(closed).toBe(true);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  expect(closes).toBe(1);
  expect(conn.queued).toBe(0);
});

test("a stream the server ended closes as soon as its client has read everything", async () => {
  const conn = new SseConnection({
    limits: { maxEvents: 16, maxBytes: 1 << 20 },
    keepAliveMs: 0,
    drainTimeoutMs: 60_000,
    signal: new AbortController().signal,
    onClose: () => {},
  });
  conn.push(bytes("data: 1\n\n"));
  conn.end(bytes("event: stream_error\ndata: {}\n\n"));
  const text = await new Response(conn.stream).text();
  expect(text).toBe("data: 1\n\nevent: stream_error\ndata: {}\n\n");
  await conn.closed;
  expect(conn.delivered).toBe(2);
});
