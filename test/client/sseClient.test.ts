// SSEClient against a real server: events, base64 payloads, reconnects with Last-Event-ID, gaps, ends.
import { afterEach, expect, test } from "bun:test";
import { SSEClient, ServerAPI, ServerAPIError, StreamEndedError } from "../../src/client/index.ts";
import { StubbornTask, until as untilFx, type ManualStreamDevice } from "../support/fixtures.ts";
import { startRelay, startServer, type Running } from "./support.ts";

let srv: Running | null = null;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await srv?.stop();
  srv = null;
});

const until = (cond: () => boolean, what: string, timeoutMs = 3000) => untilFx(cond, timeoutMs, what);

function client(url: string, opts: ConstructorParameters<typeof SSEClient>[1] = {}) {
  const events: any[] = [];
  const errors: Error[] = [];
  const gaps: any[] = [];
  const c = new SSEClient(url, {
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
    onGap: (g) => gaps.push(g),
    initialRetryMs: 20,
    maxRetryMs: 100,
    ...opts,
  });
  cleanups.push(() => c.stopStream());
  return { c, events, errors, gaps };
}

async function withManual(opts: Parameters<typeof startServer>[0] = {}) {
  srv = await startServer(opts);
  srv.daemon.addDevice("m1", "ManualStreamDevice");
  return srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
}
const streaming = () =>
  until(
    () => srv!.daemon.deviceState("m1").streaming && (srv!.server.sse.stats("m1")?.subscribers ?? 0) > 0,
    "device streaming",
  );

test("onEvent gets the parsed data object; a token goes in the Authorization header", async () => {
  const dev = await withManual({ token: "tk" });
  const { c, events, errors } = client(srv!.url, { token: "tk" });
  c.startDeviceStream("m1");
  await streaming();
  dev.emit(new Float64Array([0.5, NaN]), { a: 1 });
  await until(() => events.length === 2, "2 events");
  expect(events[0]).toMatchObject({ event: "device_data", device_id: "m1", sequence: 1, payload: [0.5, null] });
  expect(events[1].payload).toEqual({ a: 1 });
  expect(c.lastEventId).toBe("2");
  expect(errors).toEqual([]);
});

test("encoding base64 delivers typed arrays back as typed arrays", async () => {
  const dev = await withManual();
  const { c, events } = client(srv!.url, { encoding: "base64" });
  c.startDeviceStream("m1");
  await streaming();
  dev.emit(new Float64Array([1, 2, 3]), { x: new Int16Array([-1, 7]) });
  await until(() => events.length === 2, "2 events");
  expect(events[0].payload).toBeInstanceOf(Float64Array);
  expect(Array.from(events[0].payload)).toEqual([1, 2, 3]);
  expect(Array.from(events[1].payload.x)).toEqual([-1, 7]);
});

test("with base64, a payload object that merely looks like {dtype, data} with an unknown dtype stays data", async () => {
  const body =
    'id: 1\nevent: device_data\ndata: {"sequence":1,"payload":[{"dtype":"toString","data":"AAAA"},{"dtype":"constructor","data":"AAAA"},{"dtype":"int16","data":"AQA="}]}\n\n';
  const fake = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(body, { headers: { "content-type": "text/event-stream" } }),
  });
  cleanups.push(() => fake.stop(true));
  const { c, events, errors } = client(`http://127.0.0.1:${fake.port}`, { encoding: "base64", reconnect: false });
  c.startDeviceStream("m1");
  await c.finished;
  expect(events).toHaveLength(1);
  expect(events[0].payload[0]).toEqual({ dtype: "toString", data: "AAAA" });
  expect(events[0].payload[1]).toEqual({ dtype: "constructor", data: "AAAA" });
  expect(Array.from(events[0].payload[2])).toEqual([1]);
  expect(errors.filter((e) => !e.message.includes("ended without a reason"))).toEqual([]);
});

test("after a dropped connection it reconnects with Last-Event-ID and continues without a gap", async () => {
  const dev = await withManual();
  const relay = await startRelay(srv!.server.port);
  cleanups.push(() => relay.stop());
  const { c, events, gaps, errors } = client(relay.url);
  c.startDeviceStream("m1");
  await streaming();
  for (let i = 0; i < 5; i++) dev.emit(i);
  await until(() => events.length === 5, "5 events");
  relay.cutAll();
  await until(() => errors.length > 0, "the break to be noticed");
  for (let i = 5; i < 12; i++) dev.emit(i); // while the client is away (the server keeps them for it)
  await until(() => events.length === 12, "12 events after the reconnect");
  expect(events.map((e) => e.sequence)).toEqual([...Array(12).keys()].map((i) => i + 1));
  expect(events.map((e) => e.payload)).toEqual([...Array(12).keys()]);
  expect(gaps).toEqual([]);
  expect(c.stats.reconnects).toBeGreaterThanOrEqual(1);
  expect(dev.starts).toBe(1);
});

test("events lost beyond the replay buffer are reported as a gap", async () => {
  const dev = await withManual({ sse: { replay: { maxEvents: 3 } } });
  const relay = await startRelay(srv!.server.port);
  cleanups.push(() => relay.stop());
  const { c, events, gaps, errors } = client(relay.url, { initialRetryMs: 300 });
  c.startDeviceStream("m1");
  await streaming();
  dev.emit("a");
  await until(() => events.length === 1, "first event");
  relay.cutAll();
  await until(() => errors.length > 0, "the break to be noticed");
  for (let i = 0; i < 10; i++) dev.emit(i); // sequences 2..11; the server holds the last 3
  await until(() => events.length === 4, "replayed events");
  expect(events.map((e) => e.sequence)).toEqual([1, 9, 10, 11]);
  expect(gaps).toEqual([{ expected: 2, received: 9, missed: 7 }]);
  expect(c.stats).toMatchObject({ gaps: 1, missed: 7 });
});

test("stream/stop ends the stream with StreamEndedError and the client does not restart the device", async () => {
  const dev = await withManual();
  const { c, errors } = client(srv!.url);
  c.startDeviceStream("m1");
  await streaming();
  await new ServerAPI(srv!.url).stopDeviceStream("m1");
  await c.finished;
  expect(c.running).toBe(false);
  const end = errors.find((e) => e instanceof StreamEndedError) as StreamEndedError;
  expect(end.type).toBe("StreamStoppedByClient");
  expect(end.context.device_id).toBe("m1");
  expect(dev.starts).toBe(1);
  expect(dev.isStreaming()).toBe(false);
});

test("a stream stopped by a script (StreamStopped) is reconnected, and events follow when it streams again", async () => {
  const dev = await withManual();
  const { c, events, errors } = client(srv!.url);
  c.startDeviceStream("m1");
  await streaming();
  dev.emit("before");
  await until(() => events.length === 1, "first event");
  await srv!.daemon.stopStreaming("m1"); // a script reconfiguring the device, not a client's stream/stop
  await until(() => errors.some((e) => e instanceof StreamEndedError), "the end to be reported");
  expect((errors[0] as StreamEndedError).type).toBe("StreamStopped");
  const local = await srv!.daemon.startStreaming("m1", () => {});
  cleanups.push(() => local.unsubscribe());
  await until(() => c.stats.reconnects >= 1 && (srv!.server.sse.stats("m1")?.subscribers ?? 0) > 0, "rejoined");
  dev.emit("after");
  await until(() => events.length === 2, "the event after the restart");
  expect(events.map((e) => [e.sequence, e.payload])).toEqual([
    [1, "before"],
    [2, "after"],
  ]);
  expect(c.running).toBe(true);
});

test("while a task owns the stopped device the reconnect is refused (DeviceInUse) and retried until it streams again", async () => {
  const dev = await withManual();
  const script = await srv!.daemon.startStreaming("m1", () => {});
  srv!.daemon.executeTask("t1", "StubbornTask", { device_ids: ["m1"] });
  cleanups.push(() => StubbornTask.release?.());
  const { c, events, errors } = client(srv!.url);
  c.startDeviceStream("m1"); // joining the task's running stream is a read
  await streaming();
  dev.emit("a");
  await until(() => events.length === 1, "first event");
  await script.unsubscribe();
  await srv!.daemon.stopStreaming("m1");
  const types = () => errors.map((e) => (e as StreamEndedError).type);
  await until(() => types().includes("DeviceInUse"), `a refused reconnect, have ${types()}`);
  expect(types()[0]).toBe("StreamStopped");
  const again = await srv!.daemon.startStreaming("m1", () => {}); // the task streams again
  cleanups.push(() => again.unsubscribe());
  // The refusal asks for 10 s before the next attempt (retry:), which the client honours.
  await until(() => (srv!.server.sse.stats("m1")?.subscribers ?? 0) > 0, "rejoined after the retry hint", 15_000);
  dev.emit("b");
  await until(() => events.length === 2, "the event after the rejoin");
  expect(events.map((e) => e.payload)).toEqual(["a", "b"]);
}, 20_000);

test("a leased device's stream starts only with the lease, which every reconnect sends again (X-Lease-Id)", async () => {
  const dev = await withManual();
  const api = new ServerAPI(srv!.url);
  const lease = await api.lease("m1", { ttl: 30, holder: "me" });
  cleanups.push(() => lease.release());
  const without = client(srv!.url);
  without.c.startDeviceStream("m1");
  await without.c.finished;
  expect(without.errors.map((e) => [(e as ServerAPIError).status, (e as ServerAPIError).type])).toEqual([
    [409, "DeviceLeased"],
  ]);

  const { c, events, errors } = client(srv!.url, { leaseId: lease.leaseId });
  c.startDeviceStream("m1");
  await streaming();
  dev.emit(1);
  await until(() => events.length === 1, "first event");
  // A script's stop: the reconnect has to start the leased device again, so it must carry the lease too.
  await srv!.daemon.stopStreaming("m1");
  await until(() => dev.starts === 2 && (srv!.server.sse.stats("m1")?.subscribers ?? 0) > 0, "restarted");
  dev.emit(2);
  await until(() => events.length === 2, "event after the reconnect");
  expect(errors.map((e) => (e as ServerAPIError).type)).toEqual(["StreamStopped"]);
  await c.stopStream();
  await srv!.daemon.stopStreaming("m1");

  const perCall = client(srv!.url);
  perCall.c.startDeviceStream("m1", lease.options);
  await streaming();
  expect(dev.starts).toBe(3);
  expect(perCall.errors).toEqual([]);
});

test("a stop by another client while this one was away ends it with a StreamStoppedByClient error (204), not silently", async () => {
  const dev = await withManual();
  const relay = await startRelay(srv!.server.port);
  cleanups.push(() => relay.stop());
  // The reconnect waits at this gate until the other client's stop is in: no race with the backoff.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let connects = 0;
  const { c, events, errors } = client(relay.url, {
    fetch: (async (input: Request | string | URL, init?: RequestInit) => {
      if (connects++ > 0) await gate;
      return fetch(input, init);
    }) as typeof fetch,
  });
  c.startDeviceStream("m1");
  await streaming();
  dev.emit(1);
  await until(() => events.length === 1, "first event");
  relay.cutAll();
  await until(() => connects === 2, "the reconnect to begin");
  await new ServerAPI(srv!.url).stopDeviceStream("m1");
  open();
  await c.finished;
  const last = errors.at(-1) as StreamEndedError;
  expect(last).toBeInstanceOf(StreamEndedError);
  expect([last.status, last.type]).toEqual([204, "StreamStoppedByClient"]);
  expect(dev.starts).toBe(1);
});

test("maxRetries counts reconnects; when they run out, onError hears that the client gave up", async () => {
  await withManual();
  const url = srv!.url;
  await srv!.stop(); // a real server's port with nobody behind it any more
  srv = null;
  for (const maxRetries of [0, 2]) {
    const { c, errors } = client(url, { maxRetries, initialRetryMs: 1, maxRetryMs: 1 });
    c.startDeviceStream("m1");
    await c.finished;
    expect(c.stats.reconnects).toBe(maxRetries);
    const last = errors.at(-1) as StreamEndedError;
    expect(last).toBeInstanceOf(StreamEndedError);
    expect(last.type).toBe("RetriesExhausted");
    expect(last.message).toContain(`giving up after ${maxRetries + 1} attempt`);
    expect(errors.slice(0, -1).map((e) => (e as ServerAPIError).type)).toEqual(
      Array(maxRetries + 1).fill("ConnectionError"),
    );
  }
});

test("an unknown device is reported once as a 404 ServerAPIError, without retries", async () => {
  await withManual();
  const { c, errors } = client(srv!.url);
  c.startDeviceStream("ghost");
  await c.finished;
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(ServerAPIError);
  expect([(errors[0] as ServerAPIError).status, (errors[0] as ServerAPIError).type]).toEqual([404, "DeviceNotFound"]);
  expect(c.stats.reconnects).toBe(0);
});

test("stopStream closes the connection and the server notices at once (not at the next keep-alive)", async () => {
  // No keep-alive is written within the test's time: only noticing the closed connection can stop the device.
  const dev = await withManual({ sse: { resumeGraceMs: 0, keepAliveMs: 3_600_000 } });
  const { c } = client(srv!.url);
  c.startDeviceStream("m1");
  await streaming();
  await c.stopStream();
  await until(() => !dev.isStreaming(), "device stopped", 20_000);
  expect(() => c.startDeviceStream("m1")).not.toThrow(); // reusable after a stop
});

test("a server that stops and comes back: the client retries until it is there again", async () => {
  await withManual();
  const port = srv!.server.port;
  let opened = 0;
  const { c, events, errors } = client(srv!.url, { onOpen: () => opened++ });
  c.startTaskStream();
  await until(() => opened === 1, "connected");
  await srv!.stop();
  await until(
    () => errors.some((e) => e instanceof StreamEndedError && e.type === "ServerStopping"),
    `ServerStopping, have ${errors.map(String)}`,
  );
  srv = await startServer({ port });
  await until(() => opened === 2, "reconnected to the new server");
  expect(c.stats.reconnects).toBeGreaterThanOrEqual(1);
  srv.daemon.executeTask("t1", "MockTask", { delay: 1 });
  await until(() => events.length === 2, "task events from the new server");
  expect(events.map((e) => e.event)).toEqual(["task_started", "task_completed"]);
});

test("a connection that goes silent is dropped after idleTimeoutMs and retried; the server's retry hint is honoured", async () => {
  let requests = 0;
  const silent = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch() {
      requests++;
      // Headers and a retry hint, then nothing: no events, no keep-alives.
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("retry: 150\n\n"));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  cleanups.push(() => silent.stop(true));
  const { c, errors } = client(`http://127.0.0.1:${silent.port}`, { idleTimeoutMs: 80, initialRetryMs: 1 });
  const t0 = performance.now();
  c.startTaskStream();
  await until(() => requests === 2, "a second attempt", 15_000);
  const elapsed = performance.now() - t0;
  expect(errors[0]!.message).toContain("no data for 80 ms");
  expect(elapsed).toBeGreaterThanOrEqual(80 + 150 - 10); // idle bound, then the server's retry advice
});
