// GET /types: the registered device and task types with their declared constructor params.
import { afterEach, expect, test } from "bun:test";
import { t } from "elysia";
import { ServerAPI } from "../../src/client/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { builtinDevices, builtinTasks } from "../../drivers/index.ts";

let s: TestServer;
afterEach(() => s.close());

test("lists every registered type; a declared params schema comes as JSON schema, an undeclared one as null", async () => {
  s = await startTestServer();
  class Declared {
    static params = t.Object(
      { address: t.String(), gain: t.Optional(t.Integer({ minimum: 1 })) },
      { additionalProperties: false },
    );
  }
  s.daemon.registerPlugins({ devices: { Declared }, tasks: builtinTasks });
  const r = await s.req("GET", "/types");
  expect(r.status).toBe(200);
  const devices = Object.fromEntries(r.body.devices.map((d: { type: string; params: unknown }) => [d.type, d.params]));
  expect(devices.MockDevice).toBeNull();
  expect(devices.Declared).toMatchObject({
    type: "object",
    additionalProperties: false,
    required: ["address"],
    properties: { address: { type: "string" }, gain: { type: "integer", minimum: 1 } },
  });
  const sweep = r.body.tasks.find((x: { type: string }) => x.type === "SweepTask");
  expect(Object.keys(sweep.params.properties)).toContain("start_wl");
  expect(r.body.tasks.map((x: { type: string }) => x.type)).toContain("MockTask");
  expect((await s.req("GET", "/")).body.endpoints.types).toBe("/types");
  const viaClient = await new ServerAPI(s.url).types();
  expect(viaClient).toEqual(r.body);
});

test("the built-in drivers' schemas are all listed (what a lab configuration may set)", async () => {
  s = await startTestServer();
  s.daemon.registerPlugins({ devices: builtinDevices });
  const r = await s.req("GET", "/types");
  for (const type of Object.keys(builtinDevices)) {
    const entry = r.body.devices.find((d: { type: string }) => d.type === type);
    expect(entry.params?.type).toBe("object");
  }
});
