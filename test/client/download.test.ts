// ServerAPI.downloadRun over a slow or failing link, against servers on loopback that send a file the way a
// slow network would: the bound is on the wait for the headers and between chunks, never on the whole
// transfer, and every failure is a typed error (or the caller's own abort).
import { afterEach, expect, test } from "bun:test";
import { ServerAPI, ServerAPIError, ServerConnectionError } from "../../src/client/index.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CHUNK = 1000;

/** A server whose file body comes from `body()`; the client's bound is what each test is about. */
function fileServer(body: () => ReadableStream<Uint8Array> | Promise<never>) {
  const srv = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch() {
      return new Response(await body(), { headers: { "content-type": "application/x-hdf5" } });
    },
  });
  cleanups.push(() => srv.stop(true));
  return `http://127.0.0.1:${srv.port}`;
}

/** `n` chunks of CHUNK bytes (byte value = chunk index), each `gapMs` after the last, then `after()`. */
function drip(n: number, gapMs: number, after: (c: ReadableStreamDefaultController<Uint8Array>) => void) {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (i > 0) await new Promise((r) => setTimeout(r, gapMs)); // the slow link
        if (i < n) c.enqueue(new Uint8Array(CHUNK).fill(i++));
        else after(c);
      },
    },
    { highWaterMark: 0 },
  );
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the download to fail");
}

test("a download that keeps arriving is not cut off by timeoutMs, however long the whole takes", async () => {
  const url = fileServer(() => drip(12, 40, (c) => c.close()));
  const api = new ServerAPI(url, { timeoutMs: 300 });
  const t0 = performance.now();
  const bytes = await api.downloadRun("r1", {});
  expect(performance.now() - t0).toBeGreaterThan(300); // longer than the bound, and complete
  expect(bytes.byteLength).toBe(12 * CHUNK);
  expect([bytes[0], bytes[CHUNK], bytes[11 * CHUNK + CHUNK - 1]]).toEqual([0, 1, 11]);
});

test("a body that stalls is a Timeout ServerConnectionError saying how much arrived", async () => {
  const url = fileServer(() => drip(2, 1, () => new Promise(() => {})));
  const e = (await failure(new ServerAPI(url).downloadRun("r1", { timeoutMs: 150 }))) as ServerConnectionError;
  expect(e).toBeInstanceOf(ServerConnectionError);
  expect([e.status, e.type, e.context.received_bytes]).toEqual([0, "Timeout", 2 * CHUNK]);
  expect(e.message).toContain("no data for 150 ms");
});

test("headers that never come are a Timeout, not a connection failure", async () => {
  const url = fileServer(() => new Promise<never>(() => {}));
  const e = (await failure(new ServerAPI(url, { timeoutMs: 150 }).downloadRun("r1", {}))) as ServerConnectionError;
  expect(e).toBeInstanceOf(ServerConnectionError);
  expect([e.status, e.type]).toEqual([0, "Timeout"]);
});

test("a connection that breaks in the middle of the body is a ConnectionError", async () => {
  // Raw TCP: the headers promise 5 chunks, two arrive, then the connection is gone.
  const tcp = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/x-hdf5\r\ncontent-length: ${5 * CHUNK}\r\n\r\n`);
        socket.write(new Uint8Array(2 * CHUNK));
        socket.end();
      },
    },
  });
  cleanups.push(() => tcp.stop(true));
  const e = (await failure(
    new ServerAPI(`http://127.0.0.1:${tcp.port}`).downloadRun("r1", {}),
  )) as ServerConnectionError;
  expect(e).toBeInstanceOf(ServerConnectionError);
  expect([e.status, e.type]).toEqual([0, "ConnectionError"]);
  expect(e.message).toContain("the connection broke after");
});

test("the caller's own abort, before or during the body, stays the caller's and is no connection failure", async () => {
  const ctl = new AbortController();
  let sent = 0;
  // The caller gives up once the file is flowing: after the server has handed over its third chunk.
  const url = fileServer(() => drip(1000, 5, (c) => c.close()));
  const counting = fileServer(() =>
    drip(1000, 5, (c) => c.close()).pipeThrough(
      new TransformStream({
        transform(chunk, c) {
          c.enqueue(chunk);
          if (++sent === 3) ctl.abort();
        },
      }),
    ),
  );
  const early = await failure(
    new ServerAPI(url).downloadRun("r1", { signal: AbortSignal.abort(new Error("changed my mind")) }),
  );
  expect(early).not.toBeInstanceOf(ServerAPIError);
  expect((early as Error).message).toBe("changed my mind");
  const late = await failure(new ServerAPI(counting).downloadRun("r1", { signal: ctl.signal }));
  expect(sent).toBeGreaterThanOrEqual(3);
  expect(late).not.toBeInstanceOf(ServerAPIError);
  expect((late as Error).name).toBe("AbortError");
});
