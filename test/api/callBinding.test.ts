// daemon.call(id, method, { args, kwargs }) binds and validates exactly as POST /devices/{id}/call: the same
// results, and the same error type, message and context for every refusal, in-process and over HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/apiServer.ts";

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
  s.daemon.addDevice("laser", "SchemaLaser");
  s.daemon.addDevice("dev", "MockDevice");
});
afterAll(() => s.close());

type Body = { method?: unknown; args?: unknown; kwargs?: unknown };

/** The call in-process: its result, or the error's type, message and context. */
async function inProcess(id: string, body: Body) {
  try {
    return { result: await s.daemon.call(id, body.method as string, { args: body.args, kwargs: body.kwargs }) };
  } catch (err) {
    const e = err as Error & { context?: Record<string, unknown> };
    return { error: { type: e.name, message: e.message, context: e.context } };
  }
}

/** The call over HTTP: its result, or the envelope's type, message and context, with the status. */
async function overHttp(id: string, body: Body) {
  const r = await s.req("POST", `/devices/${id}/call`, body);
  if (r.status === 200) return { status: 200, outcome: { result: r.body.result } };
  const { type, message, context } = r.body.error;
  return { status: r.status, outcome: { error: { type, message, context } } };
}

describe("the same outcome in-process and over HTTP", () => {
  const cases: [string, string, Body, number][] = [
    [
      "positional and keyword arguments together",
      "laser",
      { method: "setWavelength", args: [1500], kwargs: { unit: "pm" } },
      200,
    ],
    [
      "keyword arguments by a schema's parameter names",
      "laser",
      { method: "sweep", kwargs: { start_nm: 1, stop_nm: 2 } },
      200,
    ],
    [
      "keyword arguments by the names in the method's source",
      "dev",
      { method: "addNumbers", kwargs: { b: 2, a: 40 } },
      200,
    ],
    ["an unknown keyword argument", "laser", { method: "setWavelength", args: [1500], kwargs: { colour: "red" } }, 400],
    [
      "a keyword that repeats a positional argument",
      "laser",
      { method: "setWavelength", args: [1500], kwargs: { wavelength_nm: 1 } },
      400,
    ],
    ["args that are not a list", "dev", { method: "addNumbers", args: 5 }, 400],
    ["kwargs that are not a dict", "dev", { method: "addNumbers", kwargs: [1, 2] }, 400],
    ["no method name", "dev", { args: [] }, 400],
    ["a method name that is not a string", "dev", { method: 7 }, 400],
    ["a private method", "dev", { method: "_secret" }, 400],
    ["a lifecycle method", "dev", { method: "connect" }, 400],
    ["a getter", "dev", { method: "computed" }, 400],
    ["an unknown method (before its arguments are looked at)", "dev", { method: "nope", args: 5 }, 404],
    ["an argument outside the method's schema", "laser", { method: "setWavelength", args: [100] }, 422],
    ["a missing required argument", "laser", { method: "sweep", kwargs: { start_nm: 1 } }, 422],
    ["an unknown device", "ghost", { method: "hello" }, 404],
  ];
  for (const [what, id, body, status] of cases) {
    test(`${what}: HTTP ${status}, and the same in-process`, async () => {
      const http = await overHttp(id, body);
      expect(http.status).toBe(status);
      expect(await inProcess(id, body)).toEqual(http.outcome);
    });
  }

  test("every refusal names the device it was for in its context", async () => {
    for (const [what, id, body, status] of cases.filter(([, , , status]) => status !== 200)) {
      const http = await overHttp(id, body);
      expect({ what, status: http.status, device_id: http.outcome.error?.context?.device_id }).toEqual({
        what,
        status,
        device_id: id,
      });
    }
  });

  test("the bound call ran on the device: keyword arguments reached the right parameters", async () => {
    expect(await s.daemon.call("laser", "setWavelength", { kwargs: { wavelength_nm: 1530, unit: "nm" } })).toBe(
      "1530 nm",
    );
    expect((s.daemon.getDeviceInstance("laser") as { wavelength: number }).wavelength).toBe(1530);
  });
});

test("positional arguments as a plain list still call as before", async () => {
  expect(await s.daemon.call("dev", "addNumbers", [2, 3])).toBe(5);
});

test("GET /devices/{id}/methods is what daemon.describeMethods says", async () => {
  const r = await s.req("GET", "/devices/laser/methods");
  expect(r.status).toBe(200);
  expect(r.body.methods).toEqual(JSON.parse(JSON.stringify(s.daemon.describeMethods("laser"))));
});

test("a client's call on a device a task owns: 409 DeviceInUse over HTTP and in-process alike, before any binding", async () => {
  s.daemon.addDevice("held", "MockDevice");
  const h = s.daemon.executeTask("holder", "ExclusiveTask", { device_ids: ["held"], ms: 60_000 }, { exclusive: true });
  try {
    expect(s.daemon.ownerOf("held")).toBe("holder");
    expect(s.daemon.taskUsing("held")).toBe("holder");
    const body = { method: "nope", args: 5 };
    const http = await overHttp("held", body);
    expect(http.status).toBe(409);
    let local: unknown;
    await s.daemon
      .call("held", "nope", { args: 5 }, { asClient: true })
      .catch(
        (e: Error & { context: unknown }) =>
          (local = { error: { type: e.name, message: e.message, context: e.context } }),
      );
    expect(local).toEqual(http.outcome);
    // In-process code that is no client is never refused for the claim: it meets the method's own refusal.
    expect((await inProcess("held", body)).error?.type).toBe("MethodNotFound");
  } finally {
    h.cancel();
    await h.settled;
  }
  expect(s.daemon.ownerOf("held")).toBeNull();
});
