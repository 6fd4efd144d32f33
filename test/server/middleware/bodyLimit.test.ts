import { afterAll, describe, expect, test } from "bun:test";
import { bodyLimit } from "../../../src/server/middleware/bodyLimit.ts";
import { rawExchange, rawRequest } from "../../support/rawHttp.ts";
import { serveChain } from "./support.ts";

const LIMIT = 1000;
const server = serveChain(() => [bodyLimit(LIMIT)]);
afterAll(() => server.stop());

describe("bodyLimit", () => {
  test("a body within the bound reaches the route whole", async () => {
    const body = "x".repeat(LIMIT);
    const res = await fetch(`${server.url}/x`, { method: "POST", body });
    expect(((await res.json()) as any).body).toBe(body);
  });

  test("a declared length over the bound is 413 PayloadTooLarge at once, before the body is sent", async () => {
    // Only the headers go out: the answer must not wait for the announced body.
    const res = await rawExchange(
      server.port,
      `POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${LIMIT + 1}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(413);
    const body = JSON.parse(res.body);
    expect(body.error.type).toBe("PayloadTooLarge");
    expect(body.error.context).toEqual({ limit_bytes: LIMIT });
  });

  test("a chunked body is counted as it comes: 413 once it passes the bound; within it, it is buffered", async () => {
    const chunked = (n: number) =>
      `POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `${n.toString(16)}\r\n${"y".repeat(n)}\r\n0\r\n\r\n`;
    expect((await rawExchange(server.port, chunked(LIMIT + 1))).status).toBe(413);
    const ok = await rawExchange(server.port, chunked(10));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).body).toBe("y".repeat(10));
  });

  test("a GET announcing a body over the bound is 413 too; within it, it is served", async () => {
    expect((await rawRequest(server.port, "GET", "/x", { body: "z".repeat(LIMIT + 1) })).status).toBe(413);
    expect((await rawRequest(server.port, "GET", "/x", { body: "z" })).status).toBe(200);
  });
});
