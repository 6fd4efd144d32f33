// GET /stream/devices/:id over a real socket, read by a browser-style fetch parser.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { TaskContext } from "../../src/index.ts";
import { type ManualStreamDevice, until } from "../support/fixtures.ts";
import { RawStream, startSseServer, type TestServer } from "./sseSupport.ts";

let srv: TestServer;
const open: RawStream[] = [];
async function stream(path: string, headers: Record<string, string> = {}) {
  const s = await RawStream.open(srv.base + path, headers);
  open.push(s);
  return s;
}
function manual(id = "m1"): ManualStreamDevice {
  if (!srv.daemon.hasDevice(id)) srv.daemon.addDevice(id, "ManualStreamDevice");
  return srv.daemon.getDeviceInstance(id) as ManualStreamDevice;
}
/** Resolves when the daemon reports `n` subscribers on the device (a stream is joined asynchronously). */
function subscribers(id: string, n: number, timeoutMs = 2000) {
  const s = () => srv.daemon.deviceState(id);
  return until(() => s().subscribers === n && (n === 0 || s().streaming), timeoutMs, `${n} subscribers on ${id}`);
}

beforeEach(async () => {
  srv = await startSseServer({ keepAliveMs: 60_000, resumeGraceMs: 0 });
});
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await srv.stop();
});

describe("GET /stream/devices/:id", () => {
  test("sends device_data events in the contract's format", async () => {
    const dev = manual();
    const s = await stream("/stream/devices/m1");
    expect(s.status).toBe(200);
    expect(s.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(s.headers.get("cache-control")).toContain("no-cache");
    await subscribers("m1", 1);
    dev.emit({ v: 1 }, [1, 2, 3]);
    await s.until(() => s.events.length === 2);
    const [a, b] = s.events;
    expect(a!.event).toBe("device_data");
    const da = JSON.parse(a!.data);
    expect(Object.keys(da)).toEqual(["event", "device_id", "timestamp", "sequence", "payload"]);
    expect(da.event).toBe("device_data");
    expect(da.device_id).toBe("m1");
    expect(da.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(da.payload).toEqual({ v: 1 });
    expect(a!.id).toBe(String(da.sequence));
    expect(JSON.parse(b!.data).sequence).toBe(da.sequence + 1);
    expect(JSON.parse(b!.data).payload).toEqual([1, 2, 3]);
  });

  test("an unknown device is a 404 JSON error, not a stream", async () => {
    const res = await fetch(`${srv.base}/stream/devices/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.type).toBe("DeviceNotFound");
  });

  test("an unknown encoding is a 422 naming the encodings there are", async () => {
    manual();
    const res = await fetch(`${srv.base}/stream/devices/m1?encoding=foo`);
    expect(res.status).toBe(422);
    const e = ((await res.json()) as any).error;
    expect(e.type).toBe("ValidationError");
    expect(e.message).toBe("Invalid query: Property 'encoding' should be one of: 'json', 'base64', got 'foo'");
    expect(e.context).toEqual({
      location: "query",
      errors: [{ path: "/encoding", message: "Property 'encoding' should be one of: 'json', 'base64', got 'foo'" }],
    });
  });

  test("several subscribers share one device stream and receive identical sequences", async () => {
    const dev = manual();
    const clients = await Promise.all([1, 2, 3].map(() => stream("/stream/devices/m1")));
    await subscribers("m1", 1);
    expect(srv.sse.stats("m1")!.subscribers).toBe(3);
    for (let i = 0; i < 200; i++) dev.emit({ i });
    for (const c of clients) await c.until(() => c.data.length === 200);
    const seqs = clients.map((c) => c.data.map((d) => d.sequence));
    expect(seqs[1]).toEqual(seqs[0]!);
    expect(seqs[2]).toEqual(seqs[0]!);
    expect(clients[0]!.data.map((d) => d.payload.i)).toEqual([...Array(200).keys()]);
    expect(dev.starts).toBe(1);
    expect(srv.daemon.deviceState("m1").subscribers).toBe(1); // one core subscription for all SSE clients
    // Serialised once for all three (toJSON runs once per serialisation).
    let serialised = 0;
    dev.emit({ toJSON: () => (serialised++, { once: true }) });
    for (const c of clients) await c.until(() => c.data.length === 201);
    expect(serialised).toBe(1);
    expect(clients.map((c) => c.data[200].payload)).toEqual([{ once: true }, { once: true }, { once: true }]);
  });

  test("the device stops after the last SSE subscriber leaves, noticed at once while idle (not at the next keep-alive)", async () => {
    const dev = manual();
    const a = await stream("/stream/devices/m1");
    const b = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    a.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(dev.isStreaming()).toBe(true);
    const t0 = performance.now();
    b.close();
    await subscribers("m1", 0, 10_000);
    await until(() => !dev.isStreaming(), 10_000, "the device to stop");
    // The next keep-alive write, which would reveal a dead socket, is 60 s away.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(dev.stops).toBe(1);
    expect(srv.sse.stats("m1")!.subscribers).toBe(0);
  });

  test("a stream started by local code keeps running when SSE subscribers leave", async () => {
    const dev = manual();
    const local: number[] = [];
    await srv.daemon.startStreaming("m1", (_p, info) => local.push(info.sequence));
    const s = await stream("/stream/devices/m1");
    await subscribers("m1", 2);
    dev.emit(1);
    await s.until(() => s.data.length === 1);
    s.close();
    await subscribers("m1", 1);
    expect(dev.isStreaming()).toBe(true);
    expect(srv.sse.stats("m1")!.started_by).toBe("local");
    dev.emit(2);
    expect(local).toHaveLength(2);
  });

  test("a client's stream/stop ends every subscriber with stream_error StreamStoppedByClient; a reconnect gets 204, a new client restarts it", async () => {
    const dev = manual();
    const clients = await Promise.all([1, 2].map(() => stream("/stream/devices/m1")));
    await subscribers("m1", 1);
    dev.emit("x");
    for (const c of clients) await c.until(() => c.data.length === 1);
    expect((await fetch(`${srv.base}/devices/m1/stream/stop`, { method: "POST" })).status).toBe(200);
    for (const c of clients) {
      await c.until(() => c.ended, 2000, "end of stream");
      const last = c.events.at(-1)!;
      expect(last.event).toBe("stream_error");
      const err = JSON.parse(last.data);
      expect(err.device_id).toBe("m1");
      expect(err.error.type).toBe("StreamStoppedByClient");
      expect(typeof err.error.message).toBe("string");
      expect(err.timestamp).toMatch(/\+00:00$/);
    }
    const lastId = clients[0]!.events[0]!.id!;
    const again = await fetch(`${srv.base}/stream/devices/m1`, { headers: { "last-event-id": lastId } });
    expect(again.status).toBe(204);
    expect(dev.isStreaming()).toBe(false);
    const fresh = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    expect(dev.starts).toBe(2);
    dev.emit("y");
    await fresh.until(() => fresh.data.length === 1);
    expect(fresh.data[0].sequence).toBe(2);
  });

  test("a client's disconnect ends the stream with DeviceDisconnected and a reconnect gets 204", async () => {
    const dev = manual();
    expect((await fetch(`${srv.base}/devices/m1/connect`, { method: "POST" })).status).toBe(200);
    const c = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    dev.emit("x");
    await c.until(() => c.data.length === 1);
    expect((await fetch(`${srv.base}/devices/m1/disconnect`, { method: "POST" })).status).toBe(200);
    await c.until(() => c.ended, 2000, "end of stream");
    expect(JSON.parse(c.events.at(-1)!.data).error.type).toBe("DeviceDisconnected");
    const again = await fetch(`${srv.base}/stream/devices/m1`, { headers: { "last-event-id": c.events[0]!.id! } });
    expect(again.status).toBe(204);
  });

  test("a task's stop is no client's: a reconnect is not told to give up (no 204) and resumes once the task streams again", async () => {
    const dev = manual();
    let restart!: () => void;
    const restarted = new Promise<void>((r) => (restart = r));
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    class Reconfigure {
      deviceIds = ["m1"];
      constructor(readonly taskId: string) {}
      async run(ctx: TaskContext) {
        await ctx.daemon.stopStreaming("m1");
        await restarted; // reconfiguring
        await ctx.daemon.startStreaming("m1", () => {});
        await finished;
      }
    }
    srv.daemon.registerPlugins({ tasks: { Reconfigure } });
    const c = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    dev.emit("x");
    await c.until(() => c.data.length === 1);
    srv.daemon.executeTask("t1", "Reconfigure");
    await c.until(() => c.ended, 2000, "end of stream");
    expect(JSON.parse(c.events.at(-1)!.data).error.type).toBe("StreamStopped");
    const lastId = c.events.find((e) => e.event === "device_data")!.id!;
    // While the task reconfigures: refused for now (a retry hint), not told to stop for good.
    const during = await stream("/stream/devices/m1", { "last-event-id": lastId });
    expect(during.status).toBe(200);
    await during.until(() => during.ended, 2000, "the refusal");
    expect(JSON.parse(during.events.at(-1)!.data).error.type).toBe("DeviceInUse");
    restart();
    await until(() => dev.isStreaming(), 2000, "the task to stream again");
    const again = await stream("/stream/devices/m1", { "last-event-id": lastId });
    expect(again.status).toBe(200);
    await until(() => srv.sse.stats("m1")!.subscribers === 1, 2000, "the reconnect to join the task's stream");
    dev.emit("y");
    await again.until(() => again.data.length === 1, 2000, "the task's new event");
    expect(again.data[0]).toMatchObject({ sequence: 2, payload: "y" });
    finish();
    await srv.daemon.getTask("t1").wait({ timeoutMs: 2000 });
  });

  test("removing the device ends its streams with stream_error DeviceRemoved", async () => {
    manual();
    const s = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    await srv.daemon.removeDevice("m1");
    await s.until(() => s.ended);
    expect(JSON.parse(s.events.at(-1)!.data).error.type).toBe("DeviceRemoved");
    expect(srv.sse.stats("m1")).toBeNull();
  });

  test("a device that cannot stream is refused with 400 before any stream opens (an EventSource would retry a 200 forever)", async () => {
    srv.daemon.addDevice("plain", "MockDevice");
    const r = await fetch(`${srv.base}/stream/devices/plain`);
    expect(r.status).toBe(400);
    expect(r.headers.get("content-type")).toContain("application/json");
    const body = (await r.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("InvalidRequest");
    expect(body.error.message).toContain("does not stream");
  });

  test("a task-owned device that is not streaming is not started by an SSE client", async () => {
    const dev = manual();
    class HoldingTask {
      deviceIds = ["m1"];
      constructor(readonly taskId: string) {}
      run(ctx: { signal: AbortSignal }) {
        return new Promise((r) => ctx.signal.addEventListener("abort", r));
      }
    }
    srv.daemon.registerPlugins({ tasks: { HoldingTask } });
    const h = srv.daemon.executeTask("t1", "HoldingTask");
    const s = await stream("/stream/devices/m1");
    await s.until(() => s.ended);
    expect(JSON.parse(s.events[0]!.data).error.type).toBe("DeviceInUse");
    expect(dev.starts).toBe(0);
    h.cancel();
  });

  test("Last-Event-ID resumes from the replay buffer without a gap", async () => {
    await srv.stop();
    srv = await startSseServer({ resumeGraceMs: 5000 });
    const dev = manual();
    const a = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    for (let i = 0; i < 10; i++) dev.emit(i);
    await a.until(() => a.data.length === 10);
    const lastId = a.events.at(-1)!.id!;
    a.close();
    await until(() => srv.sse.stats("m1")!.subscribers === 0, 1000, "the SSE client to be gone");
    expect(dev.isStreaming()).toBe(true); // the grace period keeps it going for a client that comes back
    for (let i = 10; i < 25; i++) dev.emit(i); // sent while the client is away
    const b = await stream("/stream/devices/m1", { "last-event-id": lastId });
    await b.until(() => b.data.length === 15);
    dev.emit(25);
    await b.until(() => b.data.length === 16);
    const seqs = [...a.data, ...b.data].map((d) => d.sequence);
    expect(seqs).toEqual([...Array(26).keys()].map((i) => i + 1));
    expect([...a.data, ...b.data].map((d) => d.payload)).toEqual([...Array(26).keys()]);
  });

  test("an event older than the replay buffer shows as a gap in the sequence", async () => {
    await srv.stop();
    srv = await startSseServer({ replay: { maxEvents: 5 }, resumeGraceMs: 5000 });
    const dev = manual();
    await srv.daemon.startStreaming("m1", () => {});
    for (let i = 0; i < 20; i++) dev.emit(i); // nobody listening over SSE: nothing held
    const a = await stream("/stream/devices/m1");
    await subscribers("m1", 2);
    dev.emit(20);
    await a.until(() => a.data.length === 1);
    a.close();
    await until(() => srv.sse.stats("m1")!.subscribers === 0, 1000, "the SSE client to be gone");
    for (let i = 21; i < 40; i++) dev.emit(i);
    const b = await stream("/stream/devices/m1", { "last-event-id": a.events.at(-1)!.id! });
    await b.until(() => b.data.length === 5);
    expect(b.data.map((d) => d.sequence)).toEqual([36, 37, 38, 39, 40]);
    expect(srv.sse.stats("m1")!.replay!.events).toBe(5);
  });

  test("after the grace period the device stops; a stop on request skips the grace period", async () => {
    await srv.stop();
    srv = await startSseServer({ resumeGraceMs: 80 });
    const dev = manual();
    const a = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    a.close();
    await subscribers("m1", 0, 1000);
    expect(dev.stops).toBe(1);
    const b = await stream("/stream/devices/m1");
    await subscribers("m1", 1);
    await srv.daemon.stopStreaming("m1");
    await b.until(() => b.ended);
    expect(dev.stops).toBe(2);
    expect(srv.daemon.deviceState("m1").subscribers).toBe(0);
  });

  test("beyond maxConnections a stream is refused with stream_error TooManyStreams and a retry hint", async () => {
    await srv.stop();
    srv = await startSseServer({ maxConnections: 2 });
    manual();
    await stream("/stream/devices/m1");
    await stream("/stream/tasks");
    const res = await fetch(`${srv.base}/stream/devices/m1`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain("retry: 10000\n");
    expect(text).toContain('"type":"TooManyStreams"');
    expect(srv.sse.stats("m1")!.subscribers).toBe(1);
  });

  test("GET /devices/{id} shows the stream's subscribers, clients and drops", async () => {
    const dev = manual();
    const s = await stream("/stream/devices/m1?encoding=base64");
    await subscribers("m1", 1);
    dev.emit(1, 2, 3);
    await s.until(() => s.data.length === 3);
    const detail = (await (await fetch(`${srv.base}/devices/m1`)).json()) as any;
    expect(detail.streaming).toBe(true);
    expect(detail.stream).toMatchObject({ subscribers: 1, dropped: 0, sequence: 3, started_by: "subscribers" });
    expect(detail.stream.clients[0]).toMatchObject({ encoding: "base64", delivered: 3, dropped: 0, queued: 0 });
  });

  test("keep-alive comments arrive while the stream is idle", async () => {
    await srv.stop();
    srv = await startSseServer({ keepAliveMs: 30 });
    manual();
    const s = await stream("/stream/devices/m1");
    await s.until(() => s.comments >= 4, 2000, "keep-alive comments");
    expect(s.events).toHaveLength(0);
  });

  test("HEAD on a stream answers with the stream's headers at once and neither starts the device nor holds a stream", async () => {
    const dev = manual();
    for (const path of ["/stream/devices/m1", "/stream/tasks"]) {
      const res = await fetch(`${srv.base}${path}`, { method: "HEAD", signal: AbortSignal.timeout(2000) });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    }
    expect((await fetch(`${srv.base}/stream/devices/nope`, { method: "HEAD" })).status).toBe(404);
    expect(dev.isStreaming()).toBe(false);
    expect(srv.daemon.deviceState("m1").subscribers).toBe(0);
    expect(srv.sse.stats("m1")).toBeNull();
  });

  test("closeAll sends stream_error ServerStopping to every stream and resolves once they are closed", async () => {
    manual();
    const a = await stream("/stream/devices/m1");
    const t = await stream("/stream/tasks");
    await subscribers("m1", 1);
    const t0 = performance.now();
    await srv.sse.closeAll("bye");
    // The clients read: closed as soon as they had the last event, not at the 30 s drain timeout.
    expect(performance.now() - t0).toBeLessThan(10_000);
    for (const s of [a, t]) {
      await s.until(() => s.ended);
      const err = JSON.parse(s.events.at(-1)!.data).error;
      expect(err).toEqual({ type: "ServerStopping", message: "bye" });
    }
    expect((srv.daemon.getDeviceInstance("m1") as ManualStreamDevice).isStreaming()).toBe(false);
  });
});
