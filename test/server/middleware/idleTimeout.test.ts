import { afterAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { IdleTimeouts, idleSeconds, liftIdleTimeout } from "../../../src/server/middleware/idleTimeout.ts";
import { rawRequest } from "../../support/rawHttp.ts";
import { serveChain } from "./support.ts";

describe("idleSeconds and IdleTimeouts", () => {
  test("seconds are clamped to what Bun takes: a whole number 1..255, default 10", () => {
    expect([idleSeconds(undefined), idleSeconds(0), idleSeconds(2.4), idleSeconds(1000)]).toEqual([10, 1, 2, 255]);
  });

  test("a request that came without a socket has no timeout to set", () => {
    expect(() => new IdleTimeouts().set(new Request("http://127.0.0.1/"), 0)).not.toThrow();
  });
});

describe("liftIdleTimeout", () => {
  const lifted: string[] = [];
  const getCut = Promise.withResolvers<void>();
  const server = serveChain(
    (idle) => [liftIdleTimeout(idle)],
    async (ex) => {
      if (ex.path !== "/held") return new Response("ok");
      // A GET is still under the idle timeout: Bun cuts its silent socket, which aborts the request.
      if (ex.request.method === "GET") {
        await new Promise((resolve) => ex.request.signal.addEventListener("abort", resolve));
        getCut.resolve();
        return new Response("never read");
      }
      await getCut.promise; // held past the moment the same timeout cut the GET
      return new Response("answered");
    },
    {
      idleTimeout: 1,
      // Records which requests get their timeout changed, and passes the change on to Bun.
      wrap: (srv) =>
        ({
          timeout(request: Request, seconds: number) {
            lifted.push(`${request.method} ${new URL(request.url).pathname} ${seconds}`);
            srv.timeout(request, seconds);
          },
        }) as unknown as Server<unknown>,
    },
  );
  afterAll(() => server.stop());

  test("streams, parameter reads and every method but GET lift it; a plain GET keeps it", async () => {
    lifted.length = 0;
    for (const [method, path] of [
      ["GET", "/devices"],
      ["GET", "/stream/dev1"],
      ["GET", "/tasks/t1/parameters/gain"],
      ["GET", "/tasks/t1/parameters"],
      ["POST", "/devices/d/connect"],
      ["DELETE", "/devices/d"],
      ["HEAD", "/devices"],
    ] as const) {
      expect((await fetch(`${server.url}${path}`, { method })).status).toBe(200);
    }
    expect(lifted).toEqual([
      "GET /stream/dev1 0",
      "GET /tasks/t1/parameters/gain 0",
      "POST /devices/d/connect 0",
      "DELETE /devices/d 0",
      "HEAD /devices 0",
    ]);
  });

  test("a lifted request outlives the idle timeout that cuts a plain GET held as long", async () => {
    const [get, post] = await Promise.all([
      rawRequest(server.port, "GET", "/held"),
      rawRequest(server.port, "POST", "/held", { body: "{}" }),
    ]);
    expect(get.status).toBeNull(); // cut without an answer
    expect(post.status).toBe(200);
    expect(post.body).toBe("answered");
  });
});
