// The error catalogue, mapError, HttpError and the OpenAPI document agree on every error type; the test
// server's error responses carry only catalogued types.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Glob } from "bun";
import * as coreErrors from "../../src/core/errors.ts";
import { ERROR_CATALOGUE, catalogued, typesSentOn, type WireErrorType } from "../../src/server/errorCatalogue.ts";
import { HttpError, deviceFailureStatus, mapError } from "../../src/server/errors.ts";
import { startTestServer, uncataloguedError, type TestServer } from "../support/apiServer.ts";

const entries = Object.entries(ERROR_CATALOGUE) as [WireErrorType, (typeof ERROR_CATALOGUE)[WireErrorType]][];

/** Every error class core exports, as [export name, class]. */
const coreClasses = Object.entries(coreErrors).filter(
  (e): e is [string, typeof coreErrors.LabDaemonError] => typeof e[1] === "function" && e[1].prototype instanceof Error,
);

describe("the catalogue and mapError", () => {
  test("every error class of core is catalogued, and mapError gives it the catalogue's status and origin", () => {
    expect(coreClasses.length).toBeGreaterThan(20);
    for (const [exported, Class] of coreClasses) {
      const err = new Class("m", { id: "x" });
      const entry = catalogued(err.name);
      expect(entry, `${exported} (${err.name})`).toBeDefined();
      const mapped = mapError(err);
      expect([mapped.status, mapped.body.error.type, mapped.body.error.origin]).toEqual([
        entry!.status!,
        err.name,
        entry!.origin,
      ]);
      expect(mapped.body.error.context).toEqual({ id: "x" });
    }
  });

  test("an HttpError of each catalogued response type maps to its status, type and catalogued origin", () => {
    for (const [type, entry] of entries) {
      if (entry.status === null) continue;
      const mapped = mapError(new HttpError(entry.status as never, type as never, "m"));
      expect([mapped.status, mapped.body.error.type, mapped.body.error.origin]).toEqual([
        entry.status,
        type,
        entry.origin,
      ]);
      expect(mapped.unexpected).toBe(entry.status >= 500);
    }
  });

  test("a name that only resembles a catalogue key (an Object.prototype member) is not catalogued", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"])
      expect(catalogued(name)).toBeUndefined();
  });

  test("what device code threw passes under its own name with the device's status", () => {
    class ChillerFault extends Error {
      override name = "ChillerFault";
    }
    const e = HttpError.thrown(deviceFailureStatus(new ChillerFault("hot")), "ChillerFault", "hot", {});
    expect(mapError(e)).toMatchObject({ status: 500, body: { error: { type: "ChillerFault", origin: "device" } } });
    expect(deviceFailureStatus(new RangeError("x"))).toBe(400);
    expect(deviceFailureStatus(new coreErrors.DeviceTimeoutError("x"))).toBe(ERROR_CATALOGUE.DeviceTimeoutError.status);
    // A framework "not found" raised inside device code must not read as "the device you called is gone".
    expect(deviceFailureStatus(new coreErrors.DeviceNotFoundError("x"))).toBe(500);
  });

  test("the guard of the test server refuses an uncatalogued type, a wrong status and a stream-only type", () => {
    const env = (type: string, origin = "framework") => ({
      error: { type, message: "m", origin, timestamp: "2024-01-15T10:30:00+00:00", context: {} },
    });
    expect(uncataloguedError(400, env("Whatever"))).toContain("not catalogued");
    expect(uncataloguedError(400, env("NotFound"))).toContain("catalogued with 404");
    expect(uncataloguedError(500, env("StreamStopped"))).toContain("not catalogued as an HTTP response");
    expect(uncataloguedError(500, env("ChillerFault", "device"))).toBeNull();
    expect(uncataloguedError(500, env("TaskParameterError"))).toBeNull();
    expect(uncataloguedError(200, env("Whatever"))).toBeNull();
  });
});

describe("the catalogue in the source", () => {
  test("every stream end the server or core writes is catalogued as a stream_error type", async () => {
    const found = new Set<string>();
    for (const dir of ["src/core", "src/server/sse"]) {
      for (const f of new Glob("**/*.ts").scanSync(dir)) {
        const text = await Bun.file(`${dir}/${f}`).text();
        for (const m of text.matchAll(/\{ type: "(\w+)", message:/g)) found.add(m[1]!);
        for (const m of text.matchAll(/endAll\("(\w+)"/g)) found.add(m[1]!);
      }
    }
    expect(found.size).toBeGreaterThan(4);
    for (const type of found) expect(catalogued(type)?.channels, type).toContain("sse");
  });
});

describe("the OpenAPI document", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.close();
  });

  test("error.type is an anyOf of the catalogued literals sent over HTTP, and one open string for thrown class names", async () => {
    const doc = (await s.req("GET", "/openapi.json")).body;
    const schemas: any[] = [];
    for (const ops of Object.values<any>(doc.paths))
      for (const op of Object.values<any>(ops))
        for (const res of Object.values<any>(op.responses)) {
          const schema = res.content?.["application/json"]?.schema;
          if (schema?.properties?.error) schemas.push(schema);
        }
    expect(schemas.length).toBeGreaterThan(20);
    for (const schema of schemas) {
      const branches: any[] = schema.properties.error.properties.type.anyOf;
      const literals = branches.filter((b) => "const" in b);
      expect(literals.map((b) => b.const)).toEqual(typesSentOn("http"));
      for (const b of literals) expect(b.description).toStartWith(`${catalogued(b.const)!.status}: `);
      expect(branches.filter((b) => !("const" in b))).toEqual([{ type: "string", description: expect.any(String) }]);
    }
  });

  test("real error responses of several kinds carry catalogued types", async () => {
    await s.req("POST", "/devices", { device_id: "m1", device_type: "MockDevice" });
    await s.req("POST", "/devices/m1/connect");
    const answers = [
      await s.req("GET", "/no/such/route"),
      await s.req("DELETE", "/health"),
      await s.req("GET", "/devices/nope"),
      await s.req("POST", "/devices", "not json"),
      await s.req("POST", "/devices/m1/call", { method: "fail", args: ["boom"] }),
      await s.req("POST", "/devices/m1/call", { method: "nope" }),
      await s.req("GET", "/tasks/none/error"),
    ];
    // req() itself throws on an uncatalogued type; the statuses show each kind was reached.
    expect(answers.map((a) => [a.status, a.body.error.type])).toEqual([
      [404, "NotFound"],
      [405, "MethodNotAllowed"],
      [404, "DeviceNotFound"],
      [422, "ValidationError"],
      [400, "RangeError"],
      [404, "MethodNotFound"],
      [404, "NoError"],
    ]);
  });
});
