// Requests at the edge of HTTP, sent over raw sockets: targets the router cannot decode, over-long URLs,
// oversize bodies, bodies sent to routes that take none, and what Bun answers before any server code runs.
import { afterEach, describe, expect, test } from "bun:test";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";
import { rawExchange, rawRequest } from "../support/rawHttp.ts";

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const json = (body: string) => JSON.parse(body);

describe("request targets", () => {
  test("a path whose percent-encoding does not decode is a 400 envelope on every route, never a 500", async () => {
    s = await startTestServer({ token: "tok" });
    const auth = { authorization: "Bearer tok" };
    const targets = [
      "/swagger/assets/%ff",
      "/swagger/assets/%c0%ae",
      "/swagger/assets/%ed%a0%80",
      "/swagger/assets/%%",
      "/devices/%ff",
      "/devices/%ff/methods",
      "/devices/%%/error",
      "/tasks/%c0%ae",
      "/tasks/t/parameters/%ed%a0%80",
      "/stream/devices/%ff",
      "/nowhere/%ff",
    ];
    for (const target of targets) {
      const r = await rawRequest(s.server.port, "GET", target, { headers: auth });
      expect({ target, status: r.status }).toEqual({ target, status: 400 });
      expect(isEnvelope(json(r.body))).toBe(true);
      expect(json(r.body).error.type).toBe("InvalidRequest");
    }
    for (const [method, target] of [
      ["POST", "/devices/%ff/connect"],
      ["DELETE", "/devices/%ff"],
      ["POST", "/tasks/%ff/cancel"],
    ] as const) {
      expect((await rawRequest(s.server.port, method, target, { headers: auth })).status).toBe(400);
    }
    // The asset route needs no token and was the one that failed with a 500.
    expect((await rawRequest(s.server.port, "GET", "/swagger/assets/%ff")).status).toBe(400);
    expect(s.lines.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  test("well-formed escapes still route as before", async () => {
    s = await startTestServer();
    expect((await rawRequest(s.server.port, "GET", "/devices/%E2%82%AC")).status).toBe(404);
    expect(json((await rawRequest(s.server.port, "GET", "/devices/%E2%82%AC")).body).error.type).toBe("DeviceNotFound");
    expect((await rawRequest(s.server.port, "GET", "/swagger/assets/swagger-ui%2Ecss")).status).toBe(200);
  });

  test("a URL over 8 KiB is a 414 envelope from the server, not a bodiless answer", async () => {
    s = await startTestServer();
    const r = await rawRequest(s.server.port, "GET", `/devices/${"d".repeat(9000)}`);
    expect(r.status).toBe(414);
    expect(isEnvelope(json(r.body))).toBe(true);
    expect(json(r.body).error).toMatchObject({ type: "URITooLong", context: { limit_bytes: 8192 } });
    expect((await rawRequest(s.server.port, "GET", `/devices/${"d".repeat(7000)}`)).status).toBe(404);
  });
});

describe("request bodies over the bound", () => {
  test("a body announced over 4 MiB gets the 413 envelope at once, before it is sent", async () => {
    s = await startTestServer();
    for (const [method, target] of [
      ["POST", "/devices"],
      ["POST", "/devices/d/call"],
      ["GET", "/devices"],
    ] as const) {
      // Headers only: the answer must come without the client sending the body.
      const r = await rawExchange(
        s.server.port,
        `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n`,
      );
      expect({ method, status: r.status }).toEqual({ method, status: 413 });
      expect(json(r.body).error).toMatchObject({ type: "PayloadTooLarge", context: { limit_bytes: 1 << 20 } });
      expect(isEnvelope(json(r.body))).toBe(true);
    }
  });
});

describe("routes that take no body", () => {
  const MALFORMED = "{not json";

  test("a malformed body is a 400 envelope and the action does not happen", async () => {
    s = await startTestServer();
    const port = s.server.port;
    const post = (target: string, body = MALFORMED, method = "POST") =>
      rawRequest(port, method, target, { body, headers: { "content-type": "application/json" } });
    const expect400 = async (p: Promise<{ status: number | null; body: string }>) => {
      const r = await p;
      expect(r.status).toBe(400);
      expect(isEnvelope(json(r.body))).toBe(true);
      expect(json(r.body).error).toMatchObject({ type: "InvalidRequest", context: { location: "body" } });
    };
    s.daemon.addDevice("off", "MockDevice");
    s.daemon.addDevice("on", "MockDevice");
    await s.daemon.connectDevice("on");

    await expect400(post("/devices/off/connect"));
    expect(s.daemon.deviceState("off").connected).toBe(false);
    await expect400(post("/devices/on/disconnect"));
    expect(s.daemon.deviceState("on").connected).toBe(true);
    await expect400(post("/devices/on", MALFORMED, "DELETE"));
    expect(s.daemon.listDevices().map((d) => d.deviceId)).toContain("on");

    await s.req("POST", "/tasks", { task_id: "run", task_type: "SteppedTask", params: { steps: 1000, stepMs: 20 } });
    await expect400(post("/tasks/run/pause"));
    expect(s.daemon.getTask("run").isPaused()).toBe(false);
    await expect400(post("/tasks/run/cancel"));
    expect(s.daemon.getTask("run").status).toBe("running");
    await s.req("POST", "/tasks/run/pause");
    await expect400(post("/tasks/run/resume", "]"));
    expect(s.daemon.getTask("run").isPaused()).toBe(true);
    await s.req("POST", "/tasks/run/cancel");

    await s.req("POST", "/devices/on/call", { method: "fail" });
    await expect400(post("/devices/on/error", MALFORMED, "DELETE"));
    expect((await s.req("GET", "/devices/on/error")).status).toBe(200);
  });

  test("stream/stop with a malformed body leaves the stream running", async () => {
    s = await startTestServer();
    s.daemon.addDevice("sd", "StreamingDevice");
    await s.daemon.connectDevice("sd");
    const ac = new AbortController();
    const res = await fetch(`${s.url}/stream/devices/sd`, { signal: ac.signal });
    expect(res.status).toBe(200);
    const r = await rawRequest(s.server.port, "POST", "/devices/sd/stream/stop", {
      body: "{",
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(400);
    expect(s.daemon.deviceState("sd").streaming).toBe(true);
    ac.abort();
  });

  test("an empty body, or valid JSON, is ignored and the route acts", async () => {
    s = await startTestServer();
    s.daemon.addDevice("a", "MockDevice");
    s.daemon.addDevice("b", "MockDevice");
    const port = s.server.port;
    expect((await rawRequest(port, "POST", "/devices/a/connect")).status).toBe(200);
    expect(
      (
        await rawRequest(port, "POST", "/devices/b/connect", {
          body: "{}",
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await rawRequest(port, "POST", "/devices/b/disconnect", {
          body: " null ",
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBe(200);
    expect(s.daemon.deviceState("a").connected).toBe(true);
    expect(s.daemon.deviceState("b").connected).toBe(false);
  });
});

describe("what Bun answers before any server code runs (documented in the README)", () => {
  // If a Bun upgrade changes any of these, the README's list of bodiless answers must change with it.
  const cases: [string, string, number | null][] = [
    [
      "header section over 16 KiB",
      `GET /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(17_000)}\r\nConnection: close\r\n\r\n`,
      431,
    ],
    ["URL over 16 KiB", `GET /${"a".repeat(17_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 431],
    ["space in the path", "GET /devices/a b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 505],
    ["NUL in the query", "GET /devices?a=\0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 505],
    ["HTTP/1.1 without Host", "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", 400],
    [
      "Content-Length and chunked together",
      "POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
      400,
    ],
    [
      "a control character in a header",
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\u0001b\r\nConnection: close\r\n\r\n",
      400,
    ],
    [
      "250 header lines",
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 250 }, (_, i) => `X-H${i}: v\r\n`).join("")}Connection: close\r\n\r\n`,
      431,
    ],
    ["tab in the path", "GET /devices/a\tb HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 505],
    ["HTTP/1.2", "GET /health HTTP/1.2\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 505],
    ["bare LF line ends", "GET /health HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n", 505],
    [
      "two Content-Lengths that disagree",
      "POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
      400,
    ],
    [
      "a malformed Content-Length",
      "POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
      400,
    ],
    ["a space before a header's colon", "GET /health HTTP/1.1\r\nHost : 127.0.0.1\r\nConnection: close\r\n\r\n", 400],
    ["a folded header", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n b\r\nConnection: close\r\n\r\n", 400],
    ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400],
    ["unknown method", "FOO /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", null],
    ["lower-case method", "get /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", null],
  ];

  test("malformed framing: bodiless 400, 431 or 505, or a closed connection for unknown methods", async () => {
    s = await startTestServer();
    const port = s.server.port;
    for (const [what, bytes, status] of cases) {
      const r = await rawExchange(port, bytes);
      expect({ what, status: r.status, body: r.body }).toEqual({ what, status, body: "" });
    }
    expect(s.lines.filter((l) => /^(info|warn|error) /.test(l))).toEqual([]); // none reached the server's code
    expect((await s.req("GET", "/health")).status).toBe(200);
  });

  test("Bun.serve calls neither its fetch nor its error handler for them: no server code can answer instead", async () => {
    const reached: string[] = [];
    const bare = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: (req) => {
        reached.push(`fetch ${req.method} ${req.url}`);
        return new Response("{}");
      },
      error: (e) => {
        reached.push(`error ${String(e)}`);
        return new Response("{}", { status: 400 });
      },
    });
    try {
      for (const [what, bytes, status] of cases) {
        const r = await rawExchange(bare.port!, bytes);
        expect({ what, status: r.status }).toEqual({ what, status });
      }
      expect(reached).toEqual([]);
    } finally {
      await bare.stop(true);
    }
  });

  test("other methods Bun parses reach the server and get the 405 envelope", async () => {
    s = await startTestServer();
    for (const method of ["PUT", "PATCH", "TRACE", "PROPFIND", "QUERY"]) {
      const r = await rawRequest(s.server.port, method, "/devices");
      expect({ method, status: r.status }).toEqual({ method, status: 405 });
      expect(isEnvelope(json(r.body))).toBe(true);
    }
  });
});
