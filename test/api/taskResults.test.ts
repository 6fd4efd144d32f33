// Task results on the wire: values plain JSON cannot hold (NaN, ±Infinity, typed arrays, bigints, Maps,
// cycles) still give GET /tasks/{id} a 200 JSON answer.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { runToEnd } from "./taskSupport.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

describe("task results plain JSON cannot hold", () => {
  const odd = () => ({
    nan: NaN,
    inf: Infinity,
    ninf: -Infinity,
    floats: new Float64Array([1.5, NaN, -Infinity]),
    small: 42n,
    edge: 2n ** 53n - 1n,
    negEdge: -(2n ** 53n - 1n),
    beyond: 2n ** 53n,
    negBeyond: -(2n ** 60n),
    map: new Map<string, unknown>([
      ["x", 1],
      ["y", NaN],
    ]),
  });
  const expected = {
    nan: null,
    inf: null,
    ninf: null,
    floats: [1.5, null, null],
    small: 42,
    edge: 9007199254740991,
    negEdge: -9007199254740991,
    beyond: "9007199254740992",
    negBeyond: "-1152921504606846976",
    map: { x: 1, y: null },
  };

  test("GET /tasks/{id} answers 200 JSON for NaN, ±Infinity, typed arrays, bigints and Maps", async () => {
    s.daemon.registerPlugins({
      tasks: {
        OddTask: class {
          run() {
            return odd();
          }
        },
      },
    });
    expect(await runToEnd(s, "odd", "OddTask")).toBe("completed");
    const r = await s.req("GET", "/tasks/odd");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.body.result).toEqual(expected);
  });

  test('a cycle in the result becomes "[Circular]" and the rest is still written', async () => {
    s.daemon.registerPlugins({
      tasks: {
        CyclicTask: class {
          run() {
            const o: Record<string, unknown> = { a: 1, ...odd() };
            o.self = o;
            return o;
          }
        },
      },
    });
    expect(await runToEnd(s, "cyc", "CyclicTask")).toBe("completed");
    const r = await s.req("GET", "/tasks/cyc");
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ a: 1, ...expected, self: "[Circular]" });
  });
});
