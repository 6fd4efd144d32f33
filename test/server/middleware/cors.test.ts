import { afterAll, describe, expect, test } from "bun:test";
import { HttpError } from "../../../src/server/errors.ts";
import { cors, CorsPolicy } from "../../../src/server/middleware/cors.ts";
import { ErrorMapping } from "../../../src/server/middleware/errorMapping.ts";
import { ServerLog } from "../../../src/server/middleware/requestLog.ts";
import { recordingLogger, serveChain } from "./support.ts";

const DASH = "http://dash.example:8080";
const mapping = new ErrorMapping(() => [], new ServerLog(recordingLogger([]), "silent"));
const policy = new CorsPolicy([DASH, "HTTP://Upper.Example:80/"]);
const server = serveChain(
  () => [cors(policy, (e, r) => mapping.toResponse(e, r))],
  async (ex) => {
    if (ex.path === "/fail") throw new HttpError(409, "DeviceInUse", "owned", {});
    return new Response("ok");
  },
);
afterAll(() => server.stop());

describe("cors", () => {
  test("'*' is refused: origins are listed one by one", () => {
    expect(() => new CorsPolicy(["*"])).toThrow("'*' is not allowed");
  });

  test("a request without Origin, or from the server's own origin, passes without CORS headers", async () => {
    const plain = await fetch(`${server.url}/x`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    const same = await fetch(`${server.url}/x`, { headers: { origin: server.url } });
    expect(same.status).toBe(200);
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("another site's page's request without Origin (an <img src>) is refused; following a link from it is not", async () => {
    const embedded = await fetch(`${server.url}/stream/devices/d1`, {
      headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" },
    });
    expect(embedded.status).toBe(403);
    expect(((await embedded.json()) as any).error).toMatchObject({
      type: "CorsOriginNotAllowed",
      context: { sec_fetch_site: "cross-site" },
    });
    const sameSite = await fetch(`${server.url}/x`, {
      headers: { "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" },
    });
    expect(sameSite.status).toBe(403);
    for (const headers of <Record<string, string>[]>[
      { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
      { "sec-fetch-site": "same-origin", "sec-fetch-mode": "no-cors" },
      { "sec-fetch-site": "none", "sec-fetch-mode": "navigate" },
    ])
      expect((await fetch(`${server.url}/x`, { headers })).status).toBe(200);
  });

  test("an unlisted origin is refused with 403 CorsOriginNotAllowed before anything runs", async () => {
    const res = await fetch(`${server.url}/x`, { method: "POST", headers: { origin: "http://evil.example" } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as any;
    expect(body.error.type).toBe("CorsOriginNotAllowed");
    expect(body.error.context).toEqual({ origin: "http://evil.example" });
  });

  test("a listed origin gets the CORS headers; its preflight is 204 with methods and headers", async () => {
    const res = await fetch(`${server.url}/x`, { headers: { origin: DASH } });
    expect(await res.text()).toBe("ok");
    expect(res.headers.get("access-control-allow-origin")).toBe(DASH);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("vary")).toBe("Origin");
    const pre = await fetch(`${server.url}/x`, { method: "OPTIONS", headers: { origin: DASH } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE, OPTIONS");
    expect(pre.headers.get("access-control-allow-headers")).toContain("X-Lease-Id");
  });

  test("an error answered to a listed origin carries the CORS headers, so its page can read the envelope", async () => {
    const res = await fetch(`${server.url}/fail`, { headers: { origin: DASH } });
    expect(res.status).toBe(409);
    expect(res.headers.get("access-control-allow-origin")).toBe(DASH);
    expect(((await res.json()) as any).error.type).toBe("DeviceInUse");
  });

  test("a listed origin is normalised as browsers send it (lower case, no default port, no slash)", async () => {
    const res = await fetch(`${server.url}/x`, { headers: { origin: "http://upper.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://upper.example");
  });
});
