import { afterAll, describe, expect, test } from "bun:test";
import { MAX_TARGET_BYTES, urlLimit } from "../../../src/server/middleware/urlLimit.ts";
import { serveChain } from "./support.ts";

const server = serveChain(() => [urlLimit]);
afterAll(() => server.stop());

describe("urlLimit", () => {
  test("a URL over the bound is 414 URITooLong with the limit; one at the bound is served", async () => {
    const base = `${server.url}/x?q=`;
    const atLimit = await fetch(base + "a".repeat(MAX_TARGET_BYTES - base.length));
    expect(atLimit.status).toBe(200);
    const over = await fetch(base + "a".repeat(MAX_TARGET_BYTES - base.length + 1));
    expect(over.status).toBe(414);
    const body = (await over.json()) as any;
    expect(body.error.type).toBe("URITooLong");
    expect(body.error.context).toEqual({ limit_bytes: MAX_TARGET_BYTES });
  });

  test("a path whose percent-encoding is not UTF-8 is 400 InvalidRequest; valid escapes pass", async () => {
    const bad = await fetch(`${server.url}/devices/%E0%A4%A/call`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.type).toBe("InvalidRequest");
    expect((await fetch(`${server.url}/devices/%C3%A9`)).status).toBe(200);
  });
});
