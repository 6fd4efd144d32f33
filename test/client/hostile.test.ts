// The client against servers that misbehave (and one filtered stream that only looks like a loss):
// every case must end in a typed error or a clean result, with memory and retries bounded.
import { afterEach, expect, test } from "bun:test";
import { SSEClient, ServerAPI, ServerAPIError, ServerConnectionError } from "../../src/client/index.ts";
import { until } from "../support/fixtures.ts";
import { startServer, type Running } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bare server whose every answer `respond` makes; counts the requests it got. */
function fake(respond: (req: Request) => Response) {
  let requests = 0;
  const srv = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: (req) => (requests++, respond(req)) });
  cleanups.push(() => srv.stop(true));
  return { url: `http://127.0.0.1:${srv.port}`, requests: () => requests };
}

/** A body that never ends, `piece` after `piece`, until the client goes away. */
function endless(piece: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(piece.repeat(Math.max(1, Math.floor(65536 / piece.length))));
  return new ReadableStream({ pull: (c) => c.enqueue(bytes) }, { highWaterMark: 1 });
}

function sse(opts: ConstructorParameters<typeof SSEClient>[1]) {
  const errors: Error[] = [];
  const gaps: unknown[] = [];
  const events: any[] = [];
  return {
    errors,
    gaps,
    events,
    opts: {
      onError: (e: Error) => errors.push(e),
      onGap: (g: unknown) => gaps.push(g),
      onEvent: (e: any) => events.push(e),
      ...opts,
    },
  };
}

test("a task stream filtered to one task reports no gaps while other tasks run beside it", async () => {
  const srv: Running = await startServer();
  cleanups.push(() => srv.stop());
  let open = false;
  const s = sse({ onOpen: () => (open = true) });
  const c = new SSEClient(srv.url, s.opts);
  cleanups.push(() => c.stopStream());
  c.startTaskStream({ taskId: "A" });
  await until(() => open, 3000, "the stream to open");
  srv.daemon.executeTask("A", "SteppedTask", { steps: 10, stepMs: 2 });
  srv.daemon.executeTask("B", "SteppedTask", { steps: 10, stepMs: 2 });
  await until(() => s.events.some((e) => e.event === "task_completed"), 5000, "A to complete");
  expect(s.events.every((e) => e.task_id === "A")).toBe(true);
  expect([s.gaps, c.stats.gaps, s.errors]).toEqual([[], 0, []]);
});

test("an event of endless empty data lines is cut at the parser's bound, not held until memory runs out", async () => {
  const f = fake(() => new Response(endless("data:\n"), { headers: { "content-type": "text/event-stream" } }));
  const s = sse({ maxRetries: 1, initialRetryMs: 10 });
  const c = new SSEClient(f.url, s.opts);
  cleanups.push(() => c.stopStream());
  c.startDeviceStream("x");
  await until(() => s.errors.some((e) => /larger than/.test(e.message)), 10_000, "the bound to trip");
  expect(s.events).toEqual([]);
});

test("a server retry: beyond any timer is clamped: no reconnect storm", async () => {
  const f = fake(() => new Response("retry: 3000000000\n\n", { headers: { "content-type": "text/event-stream" } }));
  const c = new SSEClient(f.url, { initialRetryMs: 1, maxRetryMs: 5, onError: () => {} });
  cleanups.push(() => c.stopStream());
  c.startDeviceStream("x");
  await until(() => f.requests() >= 1, 3000, "the first connection");
  // The stream ended at once; with the advice clamped to a minute the client waits instead of looping.
  await Bun.sleep(300);
  expect(f.requests()).toBe(1);
});

test("a 200 that is not an event stream is an InvalidResponse error and is not retried", async () => {
  const f = fake(
    () => new Response('id: 1\ndata: {"sequence":1}\n\n', { headers: { "content-type": "application/json" } }),
  );
  const s = sse({ initialRetryMs: 1 });
  const c = new SSEClient(f.url, s.opts);
  c.startDeviceStream("x");
  await c.finished;
  expect(f.requests()).toBe(1);
  expect(s.events).toEqual([]);
  expect(s.errors[0]).toBeInstanceOf(ServerAPIError);
  expect((s.errors[0] as ServerAPIError).type).toBe("InvalidResponse");
});

test("ids that are not numbers are no sequence: an empty id makes no false gap", async () => {
  const f = fake(
    () =>
      new Response("id: 5\ndata: {}\n\nid:\ndata: {}\n\nid: 6\ndata: {}\n\n", {
        headers: { "content-type": "text/event-stream" },
      }),
  );
  const s = sse({ maxRetries: 1, initialRetryMs: 1 });
  const c = new SSEClient(f.url, s.opts);
  cleanups.push(() => c.stopStream());
  c.startDeviceStream("x");
  await until(() => s.events.length >= 3, 3000, "three events");
  expect(s.gaps).toEqual([]);
});

test("an error answer with an endless body is read only as far as an envelope can go", async () => {
  const f = fake(
    () => new Response(endless("<html>oops</html>"), { status: 500, headers: { "content-type": "text/html" } }),
  );
  const api = new ServerAPI(f.url, { timeoutMs: 20_000 });
  const err = await api.listDevices().catch((e) => e);
  // Ended by the envelope's bound: the request's timeout would have been a ServerConnectionError "Timeout".
  expect(err).toBeInstanceOf(ServerAPIError);
  expect(err).not.toBeInstanceOf(ServerConnectionError);
  expect([err.status, err.type]).toEqual([500, "HttpError"]);
});

test("an answer over maxResponseBytes is an InvalidResponse error; a body JSON cannot hold is the caller's error, not a connection error", async () => {
  const f = fake(() => new Response(endless("[1,2,3]"), { headers: { "content-type": "application/json" } }));
  const api = new ServerAPI(f.url, { maxResponseBytes: 1 << 20 });
  const big = await api.listDevices().catch((e) => e);
  expect([big.constructor, big.type]).toEqual([ServerAPIError, "InvalidResponse"]);
  const bad = (await api.callDeviceMethod("d", "m", [2n as unknown as number]).catch((e) => e)) as ServerAPIError;
  expect(bad).not.toBeInstanceOf(ServerConnectionError);
  expect([bad.status, bad.type]).toEqual([0, "InvalidRequest"]);
  expect(bad.message).toContain("BigInt");
});
