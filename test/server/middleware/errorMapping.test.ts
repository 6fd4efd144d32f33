import { afterAll, describe, expect, test } from "bun:test";
import { DeviceNotFoundError } from "../../../src/core/errors.ts";
import { HttpError } from "../../../src/server/errors.ts";
import { ErrorMapping } from "../../../src/server/middleware/errorMapping.ts";
import { ServerLog } from "../../../src/server/middleware/requestLog.ts";
import { recordingLogger, serveChain } from "./support.ts";

const lines: string[] = [];
const routes = [
  { method: "GET", path: "/devices/:device_id" },
  { method: "DELETE", path: "/devices/:device_id" },
  { method: "GET", path: "/swagger/*" },
];
const mapping = new ErrorMapping(() => routes, new ServerLog(recordingLogger(lines), "debug"));
const at = (method: string, path: string) => new Request(`http://127.0.0.1:5000${path}`, { method });
const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

describe("ErrorMapping", () => {
  test("a known failure becomes its envelope and status; 401 adds WWW-Authenticate", async () => {
    const nf = await json(
      mapping.toResponse(new DeviceNotFoundError("No device 'x'", { device_id: "x" }), at("GET", "/")),
    );
    expect(nf.status).toBe(404);
    expect(nf.body.error).toMatchObject({ type: "DeviceNotFound", origin: "framework", context: { device_id: "x" } });
    const unauth = mapping.toResponse(new HttpError(401, "Unauthorized", "token"), at("GET", "/"));
    expect(unauth.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("an unexpected failure is a 500 that reveals nothing, and is logged with the request", async () => {
    lines.length = 0;
    const res = await json(mapping.toResponse(new Error("secret detail"), at("POST", "/devices/a/call?x=1")));
    expect(res.status).toBe(500);
    expect(res.body.error.type).toBe("InternalError");
    expect(JSON.stringify(res.body)).not.toContain("secret detail");
    expect(lines).toEqual(["error labdaemon: POST /devices/a/call failed"]);
  });

  test("no route: 405 with Allow when another method has one on the path, else 404", async () => {
    const res = mapping.fromElysia("NOT_FOUND", null, at("POST", "/devices/dmm"));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, DELETE");
    expect(((await res.json()) as any).error).toMatchObject({
      type: "MethodNotAllowed",
      context: { allowed: ["GET", "DELETE"] },
    });
    expect(mapping.fromElysia("NOT_FOUND", null, at("POST", "/swagger/a/b")).status).toBe(405);
    const none = await json(mapping.fromElysia("NOT_FOUND", null, at("GET", "/nothing")));
    expect(none.status).toBe(404);
    expect(none.body.error).toMatchObject({ type: "NotFound", message: "No route for GET /nothing" });
  });

  test("Elysia's validation failures are 422 ValidationError with where and what", async () => {
    const query = await json(
      mapping.fromElysia(
        "VALIDATION",
        { type: "query", all: [{ path: "/since", summary: "Expected number" }] },
        at("GET", "/"),
      ),
    );
    expect(query.status).toBe(422);
    expect(query.body.error).toMatchObject({
      message: "Invalid query: Expected number",
      context: { location: "query", errors: [{ path: "/since", message: "Expected number" }] },
    });
    const body = await json(mapping.fromElysia("VALIDATION", { type: "body", all: [{ path: "" }] }, at("POST", "/")));
    expect(body.body.error.message).toBe("Request body must be a JSON object");
  });

  test("a body Elysia could not parse is the one invalid-JSON 422", async () => {
    const res = await json(mapping.fromElysia("PARSE", new Error("x"), at("POST", "/")));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: "ValidationError", message: "Request body is not valid JSON" });
  });
});

describe("mapErrors", () => {
  const server = serveChain(
    () => [],
    async (ex) => {
      if (ex.path === "/conflict") throw new HttpError(409, "DeviceInUse", "owned by a task", { device_id: "d" });
      throw new TypeError("a bug");
    },
  );
  afterAll(() => server.stop());

  test("whatever the chain throws reaches the client as the envelope", async () => {
    const conflict = await fetch(`${server.url}/conflict`);
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get("content-type")).toBe("application/json");
    expect(((await conflict.json()) as any).error).toMatchObject({ type: "DeviceInUse", context: { device_id: "d" } });
    const bug = await fetch(`${server.url}/bug`);
    expect(bug.status).toBe(500);
    expect(((await bug.json()) as any).error.type).toBe("InternalError");
    expect(server.lines).toContain("error labdaemon: GET /bug failed");
  });
});
