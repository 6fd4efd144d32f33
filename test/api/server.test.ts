// The server object and its edges: lifecycle, meta routes, 404/405, token auth, CORS, 413, logging,
// and offline API docs.
import { afterEach, describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer } from "../../src/server/index.ts";
import { captureLogger, isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";
import { deviceClasses, until } from "../support/fixtures.ts";
import { rawRequest as raw } from "../support/rawHttp.ts";

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe("lifecycle", () => {
  test("start() resolves once listening on the real port; stop() is bounded; the server can start again", async () => {
    const daemon = new LabDaemon();
    const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
    expect(server.listening).toBe(false);
    await server.start();
    expect(server.port).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const t0 = performance.now();
    await server.stop({ timeoutMs: 20_000 });
    // Nothing is pending: it does not wait out its 20 s bound.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(server.listening).toBe(false);
    await expect(fetch(`${server.url}/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await server.start();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await server.stop();
    await server.stop();
    await daemon.shutdown();
  });

  test("one server per daemon at a time; a taken port rejects start()", async () => {
    s = await startTestServer();
    const second = new LabDaemonServer(s.daemon, { port: 0 });
    await expect(second.start()).rejects.toThrow("Only one server per LabDaemon instance is allowed");
    const other = new LabDaemonServer(new LabDaemon(), { port: s.server.port, logLevel: "silent" });
    await expect(other.start()).rejects.toThrow();
  });

  test("stop() returns within its bound while a device call hangs", async () => {
    s = await startTestServer();
    await s.req("POST", "/devices", { device_id: "d", device_type: "MockDevice" });
    const pending = fetch(`${s.url}/devices/d/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "slow", args: [30_000] }),
    }).catch(() => null);
    await until(() => s!.daemon.deviceState("d").busy, 2000, "the call to reach the device");
    const t0 = performance.now();
    await s.server.stop({ timeoutMs: 300 });
    // At its own bound, long before the 30 s call would have ended.
    expect(performance.now() - t0).toBeLessThan(15_000);
    await pending;
  });

  test("local calls on the daemon keep working while it serves", async () => {
    s = await startTestServer();
    s.daemon.addDevice("local", "MockDevice");
    const dev = s.daemon.getDevice("local");
    expect(await dev.addNumbers(2, 2)).toBe(4);
    expect((await s.req("GET", "/devices/local")).status).toBe(200);
  });

  test("binding beyond loopback without a token logs a warning", async () => {
    const lines: string[] = [];
    const daemon = new LabDaemon();
    const server = new LabDaemonServer(daemon, { host: "0.0.0.0", port: 0, logger: captureLogger(lines) });
    await server.start();
    await server.stop();
    expect(lines.some((l) => l.startsWith("warn") && l.includes("without a token"))).toBe(true);
  });
});

describe("meta routes and unknown routes", () => {
  test("GET / lists every endpoint; GET /health is healthy with a UTC timestamp", async () => {
    s = await startTestServer();
    const root = await s.req("GET", "/");
    expect(root.body.name).toBe("LabDaemon Server");
    expect(root.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(root.body.endpoints).length).toBeGreaterThanOrEqual(24);
    expect(root.body.endpoints.device_call).toBe("/devices/{device_id}/call");
    const h = await s.req("GET", "/health");
    expect(h.body.status).toBe("healthy");
    expect(h.body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  });

  test("GET / and /openapi.json report package.json's version", async () => {
    s = await startTestServer();
    const root = await s.req("GET", "/");
    expect(root.status).toBe(200);
    expect(root.body.version).toBe(pkg.version);
    const api = await s.req("GET", "/openapi.json");
    expect(api.status).toBe(200);
    expect(api.body.info.version).toBe(pkg.version);
  });

  test("unknown route is 404 NotFound, wrong method 405 with Allow, both envelopes", async () => {
    s = await startTestServer();
    const nf = await s.req("GET", "/nothing/here");
    expect(nf.status).toBe(404);
    expect(nf.body.error.type).toBe("NotFound");
    expect(isEnvelope(nf.body)).toBe(true);
    const na = await s.req("PUT", "/devices");
    expect(na.status).toBe(405);
    expect(na.body.error.type).toBe("MethodNotAllowed");
    expect(na.headers.get("allow")).toContain("GET");
    expect(na.headers.get("allow")).toContain("POST");
    expect(isEnvelope(na.body)).toBe(true);
    expect((await s.req("DELETE", "/health")).status).toBe(405);
  });

  test("an unexpected failure in the server is a 500 InternalError envelope without details, logged with its stack", async () => {
    s = await startTestServer();
    s.daemon.registerPlugins({
      devices: {
        Cursed: class {
          static get methods(): never {
            throw new Error("secret internals");
          }
          ping() {
            return 1;
          }
        },
      },
    });
    await s.req("POST", "/devices", { device_id: "c", device_type: "Cursed" });
    s.lines.length = 0;
    const r = await s.req("GET", "/devices/c/methods");
    expect(r.status).toBe(500);
    expect(r.body.error.type).toBe("InternalError");
    expect(r.text).not.toContain("secret internals");
    expect(r.text).not.toContain("    at ");
    expect(isEnvelope(r.body)).toBe(true);
    expect(s.lines.some((l) => l.startsWith("error labdaemon: GET /devices/c/methods failed"))).toBe(true);
    expect((await s.req("GET", "/health")).status).toBe(200);
  });

  test("every request is logged once with method, path, status and ms; /health at debug", async () => {
    s = await startTestServer();
    s.lines.length = 0;
    await s.req("GET", "/health");
    await s.req("GET", "/devices");
    await s.req("GET", "/devices/none");
    expect(s.lines).toHaveLength(3);
    expect(s.lines[0]).toMatch(/^debug GET \/health 200 [\d.]+ ms$/);
    expect(s.lines[1]).toMatch(/^info GET \/devices 200 [\d.]+ ms$/);
    expect(s.lines[2]).toMatch(/^warn GET \/devices\/none 404 [\d.]+ ms$/);
  });

  test("logLevel warn drops successes and keeps failures", async () => {
    s = await startTestServer({ logLevel: "warn" });
    s.lines.length = 0;
    await s.req("GET", "/devices");
    await s.req("GET", "/health");
    await s.req("GET", "/devices/none");
    expect(s.lines).toEqual([expect.stringMatching(/^warn GET \/devices\/none 404 /)]);
  });

  test("logLevel silent silences every line: requests, 500s and the no-token warning", async () => {
    const lines: string[] = [];
    const daemon = new LabDaemon();
    daemon.registerPlugins({ devices: deviceClasses });
    const quiet = new LabDaemonServer(daemon, {
      host: "0.0.0.0",
      port: 0,
      logLevel: "silent",
      logger: captureLogger(lines),
    });
    await quiet.start();
    try {
      daemon.addDevice("odd", "OddResultsDevice");
      const r = await fetch(`http://127.0.0.1:${quiet.port}/devices/odd/call`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ method: "internal" }),
      });
      expect(r.status).toBe(500);
      expect((await fetch(`http://127.0.0.1:${quiet.port}/devices/none`)).status).toBe(404);
      expect(lines).toEqual([]);
    } finally {
      await quiet.stop();
    }
  });
});

describe("token auth", () => {
  test("every route but /health needs the Bearer token; 401 envelope otherwise", async () => {
    s = await startTestServer({ token: "s3cret" });
    expect((await s.req("GET", "/health")).status).toBe(200);
    for (const [m, p] of [
      ["GET", "/"],
      ["GET", "/devices"],
      ["POST", "/devices"],
      ["GET", "/openapi.json"],
      ["GET", "/nothing"],
    ] as const) {
      const r = await s.req(m, p, m === "POST" ? { device_id: "x", device_type: "MockDevice" } : undefined);
      expect({ p, status: r.status }).toEqual({ p, status: 401 });
      expect(r.body.error.type).toBe("Unauthorized");
      expect(r.headers.get("www-authenticate")).toBe("Bearer");
      expect(isEnvelope(r.body)).toBe(true);
    }
    expect(s.daemon.hasDevice("x")).toBe(false);
    expect((await s.req("GET", "/devices", undefined, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await s.req("GET", "/devices", undefined, { authorization: "Basic s3cret" })).status).toBe(401);
    expect((await s.req("GET", "/devices?token=s3cret")).status).toBe(401);
    expect((await s.req("GET", "/devices", undefined, { authorization: "Bearer s3cret" })).status).toBe(200);
    expect(
      (
        await s.req(
          "POST",
          "/devices",
          { device_id: "x", device_type: "MockDevice" },
          { authorization: "bearer s3cret" },
        )
      ).status,
    ).toBe(200);
  });

  test("paths under /stream/ also accept ?token=", async () => {
    s = await startTestServer({ token: "s3cret" });
    // The SSE room answers these; whatever it answers, it must not be 401 with the query token.
    expect((await s.req("GET", "/stream/devices/none")).status).toBe(401);
    expect((await s.req("GET", "/stream/devices/none?token=nope")).status).toBe(401);
    expect((await s.req("GET", "/stream/devices/none?token=s3cret")).status).not.toBe(401);
  });
});

/** One raw HTTP/1.1 request with the given Host header (fetch would set its own); status and body. */
async function rawRequest(
  port: number,
  method: string,
  target: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const r = await raw(port, method, target, { host, headers });
  return { status: r.status ?? 0, body: r.body };
}

describe("CORS", () => {
  test("off by default: a foreign Origin is refused with 403, same-origin and no-Origin requests pass", async () => {
    s = await startTestServer();
    const foreign = await s.req(
      "POST",
      "/devices",
      { device_id: "x", device_type: "MockDevice" },
      { origin: "http://evil.example" },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(isEnvelope(foreign.body)).toBe(true);
    expect(s.daemon.hasDevice("x")).toBe(false);
    const same = await s.req("GET", "/devices", undefined, { origin: s.url });
    expect(same.status).toBe(200);
    expect((await s.req("GET", "/devices")).status).toBe(200);
  });

  test("on loopback without a token, a rebound DNS name is refused even as same-origin; loopback names pass", async () => {
    s = await startTestServer();
    s.daemon.addDevice("m1", "MockDevice");
    const port = s.server.port;
    for (const host of [
      `evil.example:${port}`,
      "evil.example",
      `192.168.1.5:${port}`,
      `127.0.0.1.evil.example:${port}`,
    ]) {
      const r = await rawRequest(port, "POST", "/devices/m1/connect", host, { origin: `http://${host}` });
      expect({ host, status: r.status }).toEqual({ host, status: 403 });
      expect(isEnvelope(JSON.parse(r.body))).toBe(true);
      expect(JSON.parse(r.body).error.type).toBe("HostNotAllowed");
      expect((await rawRequest(port, "GET", "/devices", host)).status).toBe(403);
    }
    expect(s.daemon.deviceState("m1").connected).toBe(false);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      "localhost",
      `[::1]:${port}`,
      `app.localhost:${port}`,
      "",
    ]) {
      expect({ host, status: (await rawRequest(port, "GET", "/devices", host)).status }).toEqual({ host, status: 200 });
    }
  });

  test("with a token any Host name is served; bound beyond loopback without one, IP addresses but no DNS names", async () => {
    s = await startTestServer({ token: "t" });
    const r = await rawRequest(s.server.port, "GET", "/devices", "labpc.example", { authorization: "Bearer t" });
    expect(r.status).toBe(200);
    const wide = new LabDaemonServer(new LabDaemon(), { host: "0.0.0.0", port: 0, logLevel: "silent" });
    await wide.start();
    try {
      const port = wide.port;
      for (const host of [`labpc.example:${port}`, "evil.example", `192.168.1.5.evil.example:${port}`]) {
        const refused = await rawRequest(port, "GET", "/devices", host);
        expect({ host, status: refused.status }).toEqual({ host, status: 403 });
        expect(JSON.parse(refused.body).error.type).toBe("HostNotAllowed");
      }
      for (const host of [`192.168.1.5:${port}`, `[fe80::1]:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, ""]) {
        expect({ host, status: (await rawRequest(port, "GET", "/devices", host)).status }).toEqual({
          host,
          status: 200,
        });
      }
    } finally {
      await wide.stop();
    }
  });

  test("listed origins are matched as browsers send them: case, default port and trailing slash do not matter", async () => {
    s = await startTestServer({ cors: ["HTTP://Dash.Lab:80/", "https://panel.lab:443", "http://other.lab:8080/"] });
    for (const origin of ["http://dash.lab", "https://panel.lab", "http://other.lab:8080"]) {
      const r = await s.req("GET", "/devices", undefined, { origin });
      expect({ origin, status: r.status }).toEqual({ origin, status: 200 });
      expect(r.headers.get("access-control-allow-origin")).toBe(origin);
    }
    expect((await s.req("GET", "/devices", undefined, { origin: "http://dash.lab:8080" })).status).toBe(403);
  });

  test("listed origins get credentials-safe headers (never *) and preflight answers", async () => {
    s = await startTestServer({ cors: ["http://dash.lab:8080"], token: "t" });
    const pre = await s.req("OPTIONS", "/devices/x/call", undefined, {
      origin: "http://dash.lab:8080",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://dash.lab:8080");
    expect(pre.headers.get("access-control-allow-headers")).toContain("Authorization");
    // A browser page on a listed origin can hold a lease: its commands carry X-Lease-Id.
    expect(pre.headers.get("access-control-allow-headers")).toContain("X-Lease-Id");
    const r = await s.req("GET", "/devices", undefined, { origin: "http://dash.lab:8080", authorization: "Bearer t" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("http://dash.lab:8080");
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
    expect(r.headers.get("vary")).toContain("Origin");
    const err = await s.req("GET", "/devices/none", undefined, {
      origin: "http://dash.lab:8080",
      authorization: "Bearer t",
    });
    expect(err.headers.get("access-control-allow-origin")).toBe("http://dash.lab:8080");
    const unauthorised = await s.req("GET", "/devices", undefined, { origin: "http://dash.lab:8080" });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers.get("access-control-allow-origin")).toBe("http://dash.lab:8080");
    expect((await s.req("GET", "/devices", undefined, { origin: "http://other:1" })).status).toBe(403);
    expect(() => new LabDaemonServer(new LabDaemon(), { cors: ["*"] })).toThrow();
  });
});

describe("request bodies", () => {
  test("a body over 1 MiB is 413 PayloadTooLarge, by Content-Length or chunked", async () => {
    s = await startTestServer();
    await s.req("POST", "/devices", { device_id: "d", device_type: "MockDevice" });
    const big = JSON.stringify({ method: "setValue", args: ["x".repeat(1_100_000)] });
    const r = await s.req("POST", "/devices/d/call", big);
    expect(r.status).toBe(413);
    expect(r.body.error.type).toBe("PayloadTooLarge");
    expect(isEnvelope(r.body)).toBe(true);
    const chunks = [new TextEncoder().encode(big.slice(0, 600_000)), new TextEncoder().encode(big.slice(600_000))];
    const stream = new ReadableStream({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const chunked = await fetch(`${s.url}/devices/d/call`, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await s.req("POST", "/devices/d/call", { method: "getValue" })).body.result).toBe(0);
    const justUnder = await s.req("POST", "/devices/d/call", { method: "setValue", args: ["y".repeat(1_000_000)] });
    expect(justUnder.status).toBe(200);
  });
});

describe("idle timeout", () => {
  test("a request body still arriving keeps the idle timeout; it is lifted for the handler once the body is in", async () => {
    s = await startTestServer();
    s.daemon.addDevice("m1", "MockDevice");
    const lifted: Request[] = [];
    const fakeSocket = {
      timeout: (req: Request, seconds: number) => {
        if (seconds === 0) lifted.push(req);
      },
    };
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        feed = c;
      },
    });
    const request = new Request(`${s.url}/devices/m1/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    const pending = s.server.fetch(request, fakeSocket as never);
    feed.enqueue(new TextEncoder().encode('{"method":'));
    await Bun.sleep(20);
    expect(lifted).toHaveLength(0);
    feed.enqueue(new TextEncoder().encode('"hello"}'));
    feed.close();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(lifted).toHaveLength(1);
    expect(lifted[0]).toBe(request);
  });

  test("a task parameter read (task code, bounded by parameterTimeoutMs) is not cut by the idle timeout; other GETs keep it", async () => {
    s = await startTestServer();
    const lifted: string[] = [];
    const fakeSocket = {
      timeout: (req: Request, seconds: number) => {
        if (seconds === 0) lifted.push(new URL(req.url).pathname);
      },
    };
    for (const path of ["/tasks/t1/parameters/gain", "/tasks/t1", "/devices", "/tasks/t1/parameters"]) {
      await (await s.server.fetch(new Request(s.url + path), fakeSocket as never)).arrayBuffer();
    }
    expect(lifted).toEqual(["/tasks/t1/parameters/gain"]);
  });

  test("a request re-anchored for its short Host still has the idle timeout lifted on its own socket", async () => {
    s = await startTestServer({ token: "t" });
    const lifted: Request[] = [];
    const fakeSocket = {
      timeout: (req: Request, seconds: number) => {
        if (seconds === 0) lifted.push(req);
      },
    };
    const request = new Request("http://pc1/stream/tasks?token=t");
    const res = await s.server.fetch(request, fakeSocket as never);
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(lifted).toHaveLength(1);
    expect(lifted[0]).toBe(request);
  });
});

describe("API docs", () => {
  test("/openapi.json documents every route with its schemas and error statuses", async () => {
    s = await startTestServer();
    const r = await s.req("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const paths = r.body.paths;
    const routes = Object.entries(paths).flatMap(([p, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const route of [
      "GET /",
      "GET /health",
      "GET /types",
      "GET /devices",
      "POST /devices",
      "GET /devices/{device_id}",
      "DELETE /devices/{device_id}",
      "GET /devices/{device_id}/methods",
      "GET /devices/{device_id}/error",
      "DELETE /devices/{device_id}/error",
      "POST /devices/{device_id}/connect",
      "POST /devices/{device_id}/disconnect",
      "POST /devices/{device_id}/call",
      "POST /devices/{device_id}/stream/stop",
      "GET /tasks",
      "POST /tasks",
      "GET /tasks/{task_id}",
      "GET /tasks/{task_id}/error",
      "DELETE /tasks/{task_id}/error",
      "POST /tasks/{task_id}/cancel",
      "POST /tasks/{task_id}/pause",
      "POST /tasks/{task_id}/resume",
      "POST /tasks/{task_id}/parameters",
      "GET /tasks/{task_id}/parameters/{key}",
      "GET /stream/devices/{device_id}",
      "GET /stream/tasks",
    ])
      expect(routes).toContain(route);
    for (const ops of Object.values(paths) as Record<string, any>[]) {
      for (const op of Object.values(ops))
        expect(op.responses.default.content["application/json"].schema.properties.error).toBeDefined();
    }
    const call = paths["/devices/{device_id}/call"].post;
    expect(call.requestBody.content["application/json"].schema.properties.method).toBeDefined();
    expect(Object.keys(call.responses)).toEqual(expect.arrayContaining(["200", "404", "409", "422"]));
    expect(call.responses["409"].content["application/json"].schema.properties.error).toBeDefined();
    expect((await s.req("GET", "/swagger/json")).body.openapi).toBe("3.1.0");
  });

  test("the document declares the bearer scheme only when the server has a token", async () => {
    s = await startTestServer();
    expect((await s.req("GET", "/openapi.json")).body.components?.securitySchemes).toBeUndefined();
    await s.close();
    s = await startTestServer({ token: "tok" });
    const doc = (await s.req("GET", "/openapi.json", undefined, { authorization: "Bearer tok" })).body;
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.paths["/devices"].get.security).toEqual([{ bearer: [] }]);
  });

  test("the OpenAPI document types request bodies and describes the streams' real answers", async () => {
    s = await startTestServer();
    const doc = (await s.req("GET", "/openapi.json")).body;
    const call = doc.paths["/devices/{device_id}/call"].post.requestBody.content["application/json"].schema;
    expect(call.properties.method.type).toBe("string");
    expect(call.properties.args.type).toBe("array");
    expect(call.required).toEqual(["method"]);
    const stream = doc.paths["/stream/devices/{device_id}"].get.responses;
    expect(Object.keys(stream["200"].content)).toEqual(["text/event-stream"]);
    expect(Object.keys(stream).sort()).toEqual(["200", "204", "400", "404", "default"]);
    expect(doc.paths["/tasks"].post.requestBody.content["application/json"].schema.required).toEqual([
      "task_id",
      "task_type",
    ]);
    expect(doc.paths["/tasks/{task_id}/cancel"].post.parameters).toContainEqual(
      expect.objectContaining({ name: "force", in: "query", required: false }),
    );
  });

  test("the Swagger page references no external URL and its assets are served locally", async () => {
    s = await startTestServer({ token: "tok" });
    const page = await s.req("GET", "/swagger?token=tok");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).not.toMatch(/\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      expect(ref.startsWith("/swagger/assets/")).toBe(true);
      const asset = await fetch(s.url + ref);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const refused = await s.req("GET", "/swagger");
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain("/swagger?token=<token>"); // what a browser user can do
    expect((await s.req("GET", "/openapi.json?token=tok")).status).toBe(200);
    expect((await s.req("GET", "/openapi.json?token=wrong")).status).toBe(401);
    expect(page.text).toContain("/swagger/json?token=tok");
    expect((await s.req("GET", "/swagger/json?token=tok")).status).toBe(200);
    expect((await s.req("GET", "/openapi.json", undefined, { authorization: "Bearer tok" })).status).toBe(200);
    expect((await s.req("GET", "/swagger/assets/nope.js")).status).toBe(404);
  });

  test("asset names inherited from Object.prototype are 404 envelopes, not 500s (the assets need no token)", async () => {
    s = await startTestServer({ token: "tok" });
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const res = await s.req("GET", `/swagger/assets/${name}`);
      expect(res.status).toBe(404);
      expect(isEnvelope(res.body)).toBe(true);
      expect(res.body.error.type).toBe("NotFound");
    }
    expect(s.lines.some((l) => l.startsWith("error"))).toBe(false);
  });
});

describe("request smuggling past auth", () => {
  test("a short Host header cannot route an unauthenticated path to a protected route", async () => {
    s = await startTestServer({ token: "s3cret" });
    s.daemon.addDevice("m1", "MockDevice");
    const port = s.server.port;
    for (const host of ["x", "ab", "abc"]) {
      const list = await rawRequest(port, "GET", "/health?x=/devices", host);
      expect(list.status).toBe(200);
      expect(JSON.parse(list.body)).toMatchObject({ status: "healthy" });
      const connect = await rawRequest(port, "POST", "/health?x=/devices/m1/connect", host);
      expect(connect.status).toBe(405);
      const stream = await rawRequest(port, "GET", "/stream/devices/m1?y=/devices/m1", host);
      expect(stream.status).toBe(401);
    }
    expect(s.daemon.deviceState("m1").connected).toBe(false);
  });
});

describe("slow clients", () => {
  test("a body that stops arriving after its Content-Length was announced is cut off at the idle timeout", async () => {
    s = await startTestServer({ idleTimeoutSeconds: 1 });
    const t0 = performance.now();
    const closed = new Promise<number>((resolve) => {
      void Bun.connect({
        hostname: "127.0.0.1",
        port: s!.server.port,
        socket: {
          open(sock) {
            sock.write(
              'POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"dev',
            );
          },
          data() {},
          close() {
            resolve(performance.now() - t0);
          },
        },
      });
    });
    const after = await closed;
    expect(after).toBeGreaterThan(800);
    expect(after).toBeLessThan(15_000); // nothing else would ever close it: a hang guard
    expect((await s.req("GET", "/health")).status).toBe(200);
  });
});
