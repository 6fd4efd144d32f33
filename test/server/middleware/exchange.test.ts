import { afterAll, describe, expect, test } from "bun:test";
import { splitUrl } from "../../../src/server/middleware/exchange.ts";
import { rawRequest } from "../../support/rawHttp.ts";
import { serveChain } from "./support.ts";

const server = serveChain(() => []);
afterAll(() => server.stop());

describe("exchange", () => {
  test("splitUrl separates origin and path and drops the query", () => {
    expect(splitUrl("http://127.0.0.1:5000/devices/a?x=/b")).toEqual({
      origin: "http://127.0.0.1:5000",
      path: "/devices/a",
    });
    expect(splitUrl("http://[::1]:5000/")).toEqual({ origin: "http://[::1]:5000", path: "/" });
    expect(splitUrl("http://localhost:5000")).toEqual({ origin: "http://localhost:5000", path: "/" });
  });

  test("a request with a short Host name is re-anchored on the server's own URL; path and query kept", async () => {
    const res = await rawRequest(server.port, "GET", "/health?x=/devices", { host: "x" });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.url).toBe(`${server.url}/health?x=/devices`);
    expect(body.path).toBe("/health");
  });

  test("a request with a Host name of usual length keeps its URL", async () => {
    const res = await rawRequest(server.port, "GET", "/a/b?c=1", { host: `localhost:${server.port}` });
    expect(JSON.parse(res.body).url).toBe(`http://localhost:${server.port}/a/b?c=1`);
  });
});
