// The client as something a browser or script can ship on its own, ensureServer's health check, and the
// helpers the package root exposes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as root from "../../src/index.ts";
import * as client from "../../src/client/index.ts";
import { startServer, type Running } from "./support.ts";

const ROOT_DIR = join(import.meta.dir, "../..");

describe("the client bundles without the server", () => {
  for (const target of ["browser", "bun"] as const) {
    test(`Bun.build of src/client/index.ts for ${target} succeeds, has no server code and stays under 100 kB`, async () => {
      const out = await Bun.build({ entrypoints: [join(ROOT_DIR, "src/client/index.ts")], target });
      expect(out.logs.filter((l) => l.level === "error")).toEqual([]);
      expect(out.success).toBe(true);
      expect(out.outputs).toHaveLength(1);
      const code = await out.outputs[0]!.text();
      // The client's own code is in it …
      for (const name of ["ServerAPI", "SSEClient", "ensureServer", "ensureDevice"]) expect(code).toContain(name);
      // … and nothing of the server or its framework.
      for (const name of ["elysia", "LabDaemonServer", "SseService", "node_modules/"])
        expect(code.toLowerCase()).not.toContain(name.toLowerCase());
      expect(code.length).toBeLessThan(100_000);
    });
  }
});

describe("ensureServer", () => {
  let bare: ReturnType<typeof Bun.serve>;
  let answer: { status: number; body: string } = { status: 200, body: "" };
  const paths: string[] = [];
  let real: Running;
  beforeAll(async () => {
    bare = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        paths.push(new URL(req.url).pathname);
        return new Response(answer.body, { status: answer.status, headers: { "content-type": "application/json" } });
      },
    });
    real = await startServer();
  });
  afterAll(async () => {
    bare.stop(true);
    await real.stop();
  });
  const bareUrl = () => `http://127.0.0.1:${bare.port}`;

  test('a 200 whose body is not {status: "healthy"} is not a healthy server', async () => {
    for (const body of [
      '{"status":"unhealthy"}',
      "{}",
      "[]",
      "null",
      "OK",
      "",
      '{"healthy":true}',
      '{"status":"HEALTHY"}',
    ]) {
      answer = { status: 200, body };
      expect({ body, ok: await client.ensureServer(bareUrl(), { timeoutMs: 20_000 }) }).toEqual({ body, ok: false });
    }
    answer = { status: 200, body: '{"status":"healthy"}' };
    expect(await client.ensureServer(bareUrl(), { timeoutMs: 20_000 })).toBe(true);
    answer = { status: 503, body: '{"status":"healthy"}' };
    expect(await client.ensureServer(bareUrl(), { timeoutMs: 20_000 })).toBe(false);
  });

  test("a trailing slash is normalised: the request goes to /health, not //health", async () => {
    answer = { status: 200, body: '{"status":"healthy"}' };
    paths.length = 0;
    // Bun's fetch collapses "//" in a path on its own, so what ensureServer asks for is read before it does.
    const asked: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = Object.assign((input: string | URL | Request, init?: RequestInit) => {
      asked.push(input instanceof Request ? input.url : String(input));
      return realFetch(input, init);
    }, realFetch);
    try {
      expect(await client.ensureServer(`${bareUrl()}/`, { timeoutMs: 20_000 })).toBe(true);
      expect(await client.ensureServer(`${bareUrl()}//`, { timeoutMs: 20_000 })).toBe(true);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(asked).toEqual([`${bareUrl()}/health`, `${bareUrl()}/health`]);
    expect(paths).toEqual(["/health", "/health"]);
  });

  test("a real LabDaemonServer is healthy, with or without a trailing slash", async () => {
    expect(await client.ensureServer(real.url, { timeoutMs: 20_000 })).toBe(true);
    expect(await client.ensureServer(`${real.url}/`, { timeoutMs: 20_000 })).toBe(true);
  });
});

describe("patterns 3: the package root", () => {
  test("exports ensureServer, ensureDevice, ServerAPI and SSEClient, the same ones as labdaemon/client", () => {
    for (const name of ["ensureServer", "ensureDevice", "ServerAPI", "SSEClient"] as const) {
      expect(typeof root[name]).toBe("function");
      expect(root[name] as unknown).toBe(client[name]);
    }
  });
});
