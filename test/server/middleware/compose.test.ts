import { describe, expect, test } from "bun:test";
import { compose, type Middleware } from "../../../src/server/middleware/compose.ts";
import { exchangeOf } from "../../../src/server/middleware/exchange.ts";

const ex = () => exchangeOf(new Request("http://127.0.0.1:5000/x"), () => "http://127.0.0.1:5000");

describe("compose", () => {
  test("middlewares run in order around the last handler; null entries are left out", async () => {
    const seen: string[] = [];
    const step =
      (name: string): Middleware =>
      async (_e, next) => {
        seen.push(`${name} in`);
        const res = await next();
        seen.push(`${name} out`);
        return res;
      };
    const handle = compose([step("a"), null, step("b")], async () => {
      seen.push("last");
      return new Response("done");
    });
    expect(await (await handle(ex())).text()).toBe("done");
    expect(seen).toEqual(["a in", "b in", "last", "b out", "a out"]);
  });

  test("a middleware that answers itself ends the chain: later ones and the last handler never run", async () => {
    let reached = false;
    const handle = compose(
      [
        async () => new Response(null, { status: 204 }),
        (_e, next) => {
          reached = true;
          return next();
        },
      ],
      async () => {
        reached = true;
        return new Response();
      },
    );
    expect((await handle(ex())).status).toBe(204);
    expect(reached).toBe(false);
  });

  test("a check that throws without awaiting reaches the nearest awaiting middleware", async () => {
    const handle = compose(
      [
        async (_e, next) => {
          try {
            return await next();
          } catch (err) {
            return new Response((err as Error).message, { status: 418 });
          }
        },
        () => {
          throw new Error("refused");
        },
      ],
      async () => new Response(),
    );
    const res = await handle(ex());
    expect(res.status).toBe(418);
    expect(await res.text()).toBe("refused");
  });

  test("a middleware may replace the request the rest of the chain sees", async () => {
    const handle = compose(
      [
        (e, next) => {
          e.request = new Request(e.request.url, { method: "POST", body: "replaced" });
          return next();
        },
      ],
      async (e) => new Response(`${e.request.method} ${await e.request.text()} ${e.routed.method}`),
    );
    expect(await (await handle(ex())).text()).toBe("POST replaced GET");
  });
});
