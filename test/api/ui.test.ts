// /ui on every server: the dashboard page (open without the token, since it holds no data, but behind the
// same loopback Host check as the API), and a browser's GET / sent there while API clients keep the index.
import { afterEach, describe, expect, test } from "bun:test";
import { buildPages } from "../../tools/webBuild.ts";
import { PAGE_CSP } from "../../src/web/pages.ts";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
await buildPages(`${import.meta.dir}/../..`);

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe("/ui", () => {
  test("GET /ui serves the dashboard page under the page policy", async () => {
    s = await startTestServer();
    const r = await s.req("GET", "/ui");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    expect(r.headers.get("content-security-policy")).toBe(PAGE_CSP);
    expect(r.text).toStartWith("<!doctype html>");
    expect(r.text).toContain("labdaemon dashboard");
  });

  test("the whole page (script, style, uPlot) is one response well under 300 kB gzipped", async () => {
    s = await startTestServer();
    const r = await fetch(`${s.url}/ui`, { headers: { "Accept-Encoding": "gzip" }, decompress: false } as RequestInit);
    expect(r.headers.get("content-encoding")).toBe("gzip");
    expect((await r.arrayBuffer()).byteLength).toBeLessThan(300_000);
  });

  test("with a token, the page is served without it while every API route still needs it", async () => {
    s = await startTestServer({ token: "s3cret" });
    expect((await s.req("GET", "/ui")).status).toBe(200);
    const index = await s.req("GET", "/");
    expect(index.status).toBe(401);
    expect(isEnvelope(index.body)).toBe(true);
    expect((await s.req("GET", "/devices")).status).toBe(401);
  });

  test("a browser asking / for HTML is sent to /ui (its ?token= kept); JSON clients still get the index", async () => {
    s = await startTestServer({ token: "s3cret" });
    const browser = await fetch(`${s.url}/?token=s3cret`, { headers: { Accept: BROWSER_ACCEPT }, redirect: "manual" });
    expect(browser.status).toBe(303);
    expect(browser.headers.get("location")).toBe("/ui?token=s3cret");
    const json = await s.req("GET", "/", undefined, { Accept: "application/json", Authorization: "Bearer s3cret" });
    expect(json.status).toBe(200);
    expect(json.body.name).toBe("LabDaemon Server");
    expect(json.body.endpoints.dashboard).toBe("/ui");
    const any = await s.req("GET", "/", undefined, { Authorization: "Bearer s3cret" });
    expect(any.status).toBe(200);
    expect(typeof any.body.uptime_s).toBe("number");
  });

  test("on loopback without a token, /ui and the redirect refuse a rebound DNS name like the API does", async () => {
    s = await startTestServer();
    const port = s.server.port;
    for (const path of ["/ui", "/"]) {
      const r = await s.server.fetch(
        new Request(`http://evil.example:${port}${path}`, { headers: { Accept: BROWSER_ACCEPT } }),
      );
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
      expect(((await r.json()) as { error: { type: string } }).error.type).toBe("HostNotAllowed");
    }
    const ok = await s.server.fetch(new Request(`http://localhost:${port}/ui`));
    expect(ok.status).toBe(200);
  });

  test("POST /ui is not a route", async () => {
    s = await startTestServer();
    const r = await s.req("POST", "/ui", {});
    expect(r.status).toBeGreaterThanOrEqual(404);
    expect(r.status).toBeLessThan(406);
    expect(isEnvelope(r.body)).toBe(true);
  });
});

test("the browser's /favicon.ico is an icon, not a 404", async () => {
  s = await startTestServer();
  const r = await fetch(`${s.url}/favicon.ico`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("image/png");
  expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100);
});
