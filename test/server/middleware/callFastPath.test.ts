import { afterAll, describe, expect, test } from "bun:test";
import { callFastPath, fastCallTarget } from "../../../src/server/middleware/callFastPath.ts";
import { exchangeOf } from "../../../src/server/middleware/exchange.ts";
import { jsonBody } from "../../../src/server/middleware/jsonBody.ts";
import { HttpError } from "../../../src/server/errors.ts";
import { startTestServer } from "../../support/apiServer.ts";
import { rawExchange } from "../../support/rawHttp.ts";
import { serveChain } from "./support.ts";

const calls: unknown[][] = [];
const server = serveChain(
  (idle) => [
    jsonBody,
    callFastPath({
      call: async (id, body, leaseId) => {
        calls.push([id, body, leaseId]);
        return Response.json({ fast: true });
      },
      maxBodyBytes: 100,
      idle,
    }),
  ],
  async () => Response.json({ fast: false }),
);
afterAll(() => server.stop());

const req = (method: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { method, ...init }).then((r) => r.json() as Promise<any>);

describe("callFastPath", () => {
  test("which requests take the fast path", () => {
    const post = (headers: Record<string, string>) => new Request("http://h/", { method: "POST", headers });
    const json = { "content-type": "application/json", "content-length": "2" };
    expect(fastCallTarget(post(json), "/devices/dmm-1/call", 100)).toBe("dmm-1");
    expect(fastCallTarget(new Request("http://h/", { headers: json }), "/devices/dmm-1/call", 100)).toBeNull();
    expect(fastCallTarget(post(json), "/devices/a/b/call", 100)).toBeNull();
    expect(fastCallTarget(post(json), "/devices/dmm-1/calls", 100)).toBeNull();
    expect(fastCallTarget(post({ "content-length": "2" }), "/devices/dmm-1/call", 100)).toBeNull();
    expect(fastCallTarget(post({ "content-type": "application/json" }), "/devices/dmm-1/call", 100)).toBeNull();
    expect(fastCallTarget(post({ ...json, "content-length": "101" }), "/devices/dmm-1/call", 100)).toBeNull();
  });

  test("POST /devices/{id}/call with a JSON body goes to the handler with the id, the parsed body and the lease", async () => {
    calls.length = 0;
    const res = await req("POST", "/devices/scope/call", {
      headers: { "content-type": "application/json", "x-lease-id": "L1" },
      body: JSON.stringify({ method: "idn" }),
    });
    expect(res).toEqual({ fast: true });
    expect(calls).toEqual([["scope", { method: "idn" }, "L1"]]);
  });

  test("a body that is not JSON is the same 422 the Elysia route gives", async () => {
    const res = await fetch(`${server.url}/devices/scope/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).error).toMatchObject({
      type: "ValidationError",
      message: "Request body is not valid JSON",
      context: { location: "body", errors: [] },
    });
  });

  test("a body that breaks off while it is read is the 400 InvalidRequest any route gives, not a JSON error", async () => {
    let calledNext = false;
    const mw = callFastPath({ call: async () => Response.json({}), maxBodyBytes: 100, idle: { set() {} } as never });
    const broken = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"meth'));
        c.error(new Error("connection reset"));
      },
    });
    const request = new Request("http://127.0.0.1:5000/devices/scope/call", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "50" },
      body: broken,
    });
    const err = await Promise.resolve(
      mw(
        exchangeOf(request, () => "http://127.0.0.1:5000"),
        async () => {
          calledNext = true;
          return new Response();
        },
      ),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, type: "InvalidRequest" });
    expect(calledNext).toBe(false);
  });

  test("anything unusual takes the normal way: no type, a chunked body, a body over the bound", async () => {
    expect(await req("POST", "/devices/scope/call", { body: new Uint8Array([123, 125]) })).toEqual({ fast: false });
    const chunked = await rawExchange(
      server.port,
      "POST /devices/scope/call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    );
    expect(JSON.parse(chunked.body)).toEqual({ fast: false });
    const big = JSON.stringify({ method: "x", args: ["y".repeat(100)] });
    expect(
      await req("POST", "/devices/scope/call", { headers: { "content-type": "application/json" }, body: big }),
    ).toEqual({ fast: false });
  });
});

describe("one /call handler, whichever way a request reaches it", () => {
  test("the fast path and the Elysia route give the same answers", async () => {
    const s = await startTestServer();
    try {
      await s.req("POST", "/devices", { device_id: "c", device_type: "MockDevice" });
      await s.req("POST", "/devices/c/connect");
      const ask = async (body: unknown, fast: boolean) => {
        // A body of announced length takes the fast path; a stream of unknown length is sent chunked, without
        // Content-Length, so it goes through Elysia's route.
        const bytes = new TextEncoder().encode(JSON.stringify(body));
        const streamed = new ReadableStream({
          start(c) {
            c.enqueue(bytes);
            c.close();
          },
        });
        const res = await fetch(`${s.url}/devices/c/call`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: fast ? bytes : streamed,
        });
        const json = (await res.json()) as any;
        if (json.error) delete json.error.timestamp;
        return { status: res.status, json };
      };
      for (const body of [
        { method: "addNumbers", args: [2], kwargs: { b: 3 } },
        { method: "hello" },
        { method: "nope" },
        { method: "_secret" },
        { method: "fail", args: ["broken"] },
        { args: [] },
        [1],
        { method: "addNumbers", args: 3 },
      ]) {
        expect(await ask(body, true)).toEqual(await ask(body, false));
      }
    } finally {
      await s.close();
    }
  });
});
