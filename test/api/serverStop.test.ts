// Stopping the server with requests in flight: each gets a complete HTTP answer, its own when it comes
// before the stop's deadline, a 503 envelope otherwise; never a connection closed without a word.
import { afterEach, expect, test } from "bun:test";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";
import { deviceClasses, taskClasses, until } from "../support/fixtures.ts";
import { RequestDrain } from "../../src/server/middleware/drain.ts";
import { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer } from "../../src/server/index.ts";

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

let open!: () => void;
/** A device whose `wait()` returns only when the test opens the gate. */
class GatedDevice {
  constructor(readonly deviceId: string) {}
  async wait() {
    await new Promise<void>((r) => (open = r));
    return "done";
  }
}

const DASH = "http://dash.lab:8080";

const call = (method: string, args: unknown[] = []) =>
  fetch(`${s!.url}/devices/d/call`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method, args }),
    signal: AbortSignal.timeout(15_000),
  });

test("a call still running at the stop's deadline is answered 503 ServerShuttingDown, before the call would have ended", async () => {
  s = await startTestServer();
  s.daemon.addDevice("d", "MockDevice");
  const t0 = performance.now();
  const pending = call("slow", [10_000]);
  await until(() => s!.daemon.deviceState("d").busy, 5000, "the call to reach the device");
  await s.server.stop({ timeoutMs: 400 });
  const res = await pending; // without the 503 this rejects: the socket was closed with no answer
  expect(res.status).toBe(503);
  expect(res.headers.get("connection")).toBe("close");
  const body: any = await res.json();
  expect(isEnvelope(body)).toBe(true);
  expect(body.error.type).toBe("ServerShuttingDown");
  expect(body.error.message).toContain("may still have taken effect");
  expect(performance.now() - t0).toBeLessThan(10_000);
  expect(s.lines.some((l) => l.includes("/devices/d/call 503"))).toBe(true);
  expect(s.lines.some((l) => l.startsWith("warn") && l.includes("1 request(s) still running at the deadline"))).toBe(
    true,
  );
});

test("a call that finishes before the stop's deadline gets its own answer", async () => {
  s = await startTestServer();
  s.daemon.registerPlugins({ devices: { GatedDevice } });
  s.daemon.addDevice("d", "GatedDevice");
  const pending = call("wait");
  await until(() => s!.daemon.deviceState("d").busy, 5000, "the call to reach the device");
  const stopped = s.server.stop({ timeoutMs: 10_000 });
  open();
  const res = await pending;
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ result: "done", success: true });
  await stopped;
});

test("a request that arrives while the server stops is answered 503 at once", async () => {
  s = await startTestServer({ cors: [DASH] });
  s.daemon.registerPlugins({ devices: { GatedDevice } });
  s.daemon.addDevice("d", "GatedDevice");
  const pending = call("wait");
  await until(() => s!.daemon.deviceState("d").busy, 5000, "the call to reach the device");
  const stopped = s.server.stop({ timeoutMs: 10_000 }); // waits for the gated call
  const late = await s.server.fetch(new Request(`${s.url}/devices`));
  expect(late.status).toBe(503);
  expect(((await late.json()) as any).error.type).toBe("ServerShuttingDown");
  // A page on an allowed origin can read that answer: it carries the CORS headers.
  const fromDash = await s.server.fetch(new Request(`${s.url}/devices`, { headers: { origin: DASH } }));
  expect(fromDash.status).toBe(503);
  expect(fromDash.headers.get("access-control-allow-origin")).toBe(DASH);
  open();
  expect((await pending).status).toBe(200);
  await stopped;
});

test("the drain keeps nothing of requests that ended, and answers the ones still running when cut", async () => {
  const drain = new RequestDrain();
  const answers = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) =>
      drain.track(i % 2 ? Promise.resolve(new Response("ok")) : Promise.reject(new Error("failed"))),
    ),
  );
  expect(answers.filter((a) => a.status === "fulfilled")).toHaveLength(500);
  expect(drain.inFlight).toBe(0);
  const stuck = drain.track(new Promise<Response>(() => {}));
  expect(drain.inFlight).toBe(1);
  drain.cut();
  expect((await stuck).status).toBe(503);
  expect(drain.inFlight).toBe(0);
});

test("a stopped server lets go of the daemon's events (nothing of it stays for a daemon that outlives it); started again it listens again", async () => {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: deviceClasses, tasks: taskClasses });
  // Counts the daemon's live listeners per event type.
  const live = new Map<string, number>();
  const on = daemon.on.bind(daemon);
  daemon.on = ((type: "device", fn: (e: unknown) => void) => {
    live.set(type, (live.get(type) ?? 0) + 1);
    const off = on(type, fn);
    let done = false;
    return () => {
      if (!done) live.set(type, live.get(type)! - 1);
      done = true;
      off();
    };
  }) as typeof daemon.on;
  const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
  try {
    await server.start();
    expect(live.get("device")).toBeGreaterThan(0);
    await server.stop({ timeoutMs: 1000 });
    // Only the log line for tasks the daemon's shutdown abandons stays: that shutdown comes after the stop.
    expect(Object.fromEntries([...live].filter(([, n]) => n > 0))).toEqual({ error: 1 });
    await server.start();
    daemon.addDevice("m1", "MockDevice");
    const failed = await fetch(`${server.url}/devices/m1/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "fail", args: ["after the restart"] }),
    });
    expect(failed.status).toBe(400);
    const stored = (await (await fetch(`${server.url}/devices/m1/error`)).json()) as any;
    expect(stored.error.message).toBe("after the restart");
  } finally {
    await server.stop({ timeoutMs: 1000 });
    await daemon.shutdown({ timeoutMs: 500 });
  }
});
