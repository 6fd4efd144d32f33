// Fuzz: thousands of generated bad requests (malformed JSON, wrong types, huge values, hostile names,
// unknown ids, wrong methods). Every answer must be a 4xx envelope, no state may change, and the server
// must stay healthy.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { isEnvelope, seededRandom as rng, startTestServer, type TestServer } from "../support/apiServer.ts";
import type { MockDevice } from "../support/fixtures.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ logLevel: "silent" });
  await s.req("POST", "/devices", { device_id: "dev1", device_type: "MockDevice" });
  await s.req("POST", "/devices/dev1/connect");
  await s.req("POST", "/tasks", { task_id: "done1", task_type: "MockTask", params: { delay: 1 } });
  await s.daemon.getTask("done1").settled;
});
afterAll(async () => {
  await s.close();
});

const HOSTILE = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "_secret",
  "%23private",
  "valueOf",
  "%00",
  "%0d%0aSet-Cookie:%20x=1",
  "a%2Fb",
  "%E2%82%AC",
  "%F0%9F%98%80",
  "%3Cscript%3E",
  "'%20OR%201=1",
  "%ZZ",
  "x".repeat(300),
  "y".repeat(5000),
  "-",
  ".hidden",
  "nul",
  "con",
  "0",
  "-1",
  "1e309",
  "null",
  "undefined",
  "NaN",
];
const HOSTILE_METHODS = [
  ...HOSTILE.slice(0, 6),
  "#private",
  "valueOf",
  "connect",
  "disconnect",
  "isConnected",
  "startStreaming",
  "then",
  "__defineGetter__",
  "computed",
  "deviceId",
  "nonexistent",
  "",
  " ",
  "z".repeat(10_000),
];
const BAD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  "",
  "x".repeat(20_000),
  [],
  [[[]]],
  {},
  { a: { b: { c: {} } } },
  Number.MAX_SAFE_INTEGER,
  "\u0000",
  "\ud800",
  ["__proto__"],
  { __proto__: { polluted: true } },
  { constructor: { prototype: {} } },
];

test("2,500 generated bad requests all get a 4xx envelope, change nothing, and the server stays healthy", async () => {
  const rand = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const hostile = () => pick(HOSTILE);
  const badJson = () =>
    pick([
      "{",
      "}",
      "[",
      '{"a":',
      "{'a':1}",
      "nul",
      "\u0000",
      '{"method":}',
      '{"a":1,}',
      '"unterminated',
      '{"a":NaN}',
      '{"a":Infinity}',
      "[".repeat(5000),
      `{"a":${"[".repeat(3000)}`,
    ]);
  const badBody = () => (rand() < 0.4 ? badJson() : JSON.stringify(pick(BAD_VALUES)));

  type Gen = () => { method: string; path: string; body?: string; contentType?: string };
  const gens: Gen[] = [
    () => ({ method: "GET", path: `/devices/${hostile()}` }),
    () => ({ method: "GET", path: `/devices/${hostile()}/${pick(["methods", "error"])}` }),
    () => ({ method: "GET", path: `/tasks/${hostile()}` }),
    () => ({ method: "GET", path: `/tasks/${hostile()}/parameters/${hostile()}` }),
    () => ({ method: "GET", path: `/${hostile()}` }),
    () => ({
      method: pick(["POST", "DELETE"]),
      path: `/devices/${hostile()}/${pick(["connect", "disconnect", "stream/stop", "error"])}`,
    }),
    () => ({ method: "DELETE", path: `/devices/${hostile()}` }),
    () => ({ method: "POST", path: `/tasks/${hostile()}/${pick(["cancel", "pause", "resume"])}` }),
    () => ({ method: "POST", path: `/tasks/done1/${pick(["pause", "resume"])}` }),
    () => ({ method: "POST", path: `/tasks/done1/cancel?force=${pick(HOSTILE.filter((h) => h !== "0"))}` }),
    () => ({
      method: pick(["PUT", "PATCH", "OPTIONS"]),
      path: pick(["/", "/devices", "/devices/dev1", "/devices/dev1/call", "/tasks", "/tasks/done1", "/health"]),
    }),
    () => ({
      method: pick(["DELETE", "PUT"]),
      path: pick(["/health", "/tasks", "/devices/dev1/methods", "/openapi.json"]),
    }),
    () => ({ method: "POST", path: "/devices/dev1/call", body: badBody() }),
    () => ({
      method: "POST",
      path: "/devices/dev1/call",
      body: JSON.stringify({ method: pick(HOSTILE_METHODS), args: pick([[], [1], BAD_VALUES]), kwargs: {} }),
    }),
    () => ({
      method: "POST",
      path: "/devices/dev1/call",
      body: JSON.stringify({ method: pick(HOSTILE_METHODS), args: pick(BAD_VALUES.filter((v) => !Array.isArray(v))) }),
    }),
    () => ({
      method: "POST",
      path: "/devices/dev1/call",
      body: JSON.stringify({
        method: "setValue",
        args: pick(BAD_VALUES.filter((v) => !Array.isArray(v) && v !== undefined)),
      }),
    }),
    () => ({
      method: "POST",
      path: "/devices/dev1/call",
      body: JSON.stringify({ method: "setValue", kwargs: pick([{ [hostile()]: 1 }, "x", [1], 7]) }),
    }),
    () => ({ method: "POST", path: `/devices/${hostile()}/call`, body: JSON.stringify({ method: "getValue" }) }),
    () => ({
      method: "POST",
      path: "/devices/dev1/call",
      body: JSON.stringify({ method: "getValue" }),
      contentType: pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]),
    }),
    () => ({ method: "POST", path: "/devices", body: badBody() }),
    () => ({
      method: "POST",
      path: "/devices",
      body: JSON.stringify({
        device_id: pick([hostile(), ...BAD_VALUES]),
        device_type: pick(["Nope", hostile(), ...BAD_VALUES]),
        params: pick([{}, ...BAD_VALUES]),
      }),
    }),
    () => ({
      method: "POST",
      path: "/devices",
      body: JSON.stringify({ device_id: "dev1", device_type: "MockDevice" }),
    }),
    () => ({ method: "POST", path: "/tasks", body: badBody() }),
    () => ({
      method: "POST",
      path: "/tasks",
      body: JSON.stringify({
        task_id: pick([hostile(), ...BAD_VALUES]),
        task_type: pick(["Nope", hostile(), ...BAD_VALUES]),
        params: pick([{}, ...BAD_VALUES]),
      }),
    }),
    () => ({
      method: "POST",
      path: "/tasks",
      body: JSON.stringify({
        task_id: "new1",
        task_type: "ExclusiveTask",
        params: { device_ids: pick([[hostile()], "dev1", [1], [null], 5]) },
      }),
    }),
    () => ({
      method: "POST",
      path: `/tasks/${pick(["done1", hostile()])}/parameters`,
      body: pick([badBody(), JSON.stringify({ key: pick(BAD_VALUES), value: 1 }), JSON.stringify({ key: "k" })]),
    }),
  ];

  const before = {
    devices: (await s.req("GET", "/devices")).body,
    tasks: (await s.req("GET", "/tasks")).body,
    instance: JSON.stringify(s.daemon.getDeviceInstance("dev1")),
  };
  const N = 2500;
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (let start = 0; start < N; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, N - start) }, async () => {
        const g = pick(gens)();
        const headers: Record<string, string> = {};
        if (g.body !== undefined) headers["content-type"] = g.contentType ?? "application/json";
        const res = await fetch(s.url + g.path, {
          method: g.method,
          body: g.body,
          headers,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {
          // reported below
        }
        if (res.status < 400 || res.status >= 500 || !isEnvelope(body)) {
          failures.push(
            `${g.method} ${g.path.slice(0, 80)} ${String(g.body).slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`,
          );
        }
      }),
    );
  }
  expect(failures).toEqual([]);
  expect([...statuses.keys()].every((k) => k >= 400 && k < 500)).toBe(true);
  expect(statuses.size).toBeGreaterThanOrEqual(4);
  const after = {
    devices: (await s.req("GET", "/devices")).body,
    tasks: (await s.req("GET", "/tasks")).body,
    instance: JSON.stringify(s.daemon.getDeviceInstance("dev1")),
  };
  expect(after).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((s.daemon.getDeviceInstance("dev1") as MockDevice).connects).toBe(1);
  expect(s.server.ownership.size).toBe(0);
  expect((await s.req("GET", "/health")).status).toBe(200);
  expect((await s.req("POST", "/devices/dev1/call", { method: "addNumbers", args: [1, 2] })).body.result).toBe(3);
}, 60_000);
