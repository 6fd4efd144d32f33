import { afterAll, describe, expect, test } from "bun:test";
import { drainGate, RequestDrain } from "../../../src/server/middleware/drain.ts";
import { serveChain } from "./support.ts";

describe("RequestDrain", () => {
  test("a tracked request gets its own answer and leaves the count", async () => {
    const drain = new RequestDrain();
    const answer = drain.track(Promise.resolve(new Response("mine")));
    expect(drain.inFlight).toBe(1);
    expect(await (await answer).text()).toBe("mine");
    expect(drain.inFlight).toBe(0);
  });

  test("cut() answers every request still in flight 503 ServerShuttingDown with Connection: close", async () => {
    const drain = new RequestDrain();
    let late!: (r: Response) => void;
    const answer = drain.track(new Promise<Response>((r) => (late = r)));
    drain.cut();
    const res = await answer;
    late(new Response("too late"));
    expect(res.status).toBe(503);
    expect(res.headers.get("connection")).toBe("close");
    const body = (await res.json()) as any;
    expect(body.error.type).toBe("ServerShuttingDown");
    expect(body.error.message).toContain("did not finish before the server's stop deadline");
    expect(drain.inFlight).toBe(0);
  });

  test("a tracked failure is passed on", async () => {
    const drain = new RequestDrain();
    await expect(drain.track(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});

describe("drainGate", () => {
  const drain = new RequestDrain();
  const arrived = Promise.withResolvers<void>();
  const finish = Promise.withResolvers<void>();
  const server = serveChain(
    () => [drainGate(drain)],
    async (ex) => {
      if (ex.path !== "/slow") return new Response("ok");
      arrived.resolve();
      await finish.promise;
      return new Response("slow done");
    },
  );
  afterAll(() => server.stop());

  test("once the stop began, new requests are 503 at once; one in flight still gets its own answer", async () => {
    const slow = fetch(`${server.url}/slow`);
    await arrived.promise;
    expect(drain.inFlight).toBe(1);
    drain.beginStop();
    const refused = await fetch(`${server.url}/x`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as any).error.message).toContain("was not started");
    finish.resolve();
    expect(await (await slow).text()).toBe("slow done");
    drain.reset();
    expect((await fetch(`${server.url}/x`)).status).toBe(200);
  });
});
