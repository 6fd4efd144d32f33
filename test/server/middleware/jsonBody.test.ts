import { afterAll, describe, expect, test } from "bun:test";
import { invalidJson, jsonBody } from "../../../src/server/middleware/jsonBody.ts";
import { serveChain } from "./support.ts";

// The handler answers with the type it was given (the routes' parser knows only the lower-case spelling).
const server = serveChain(
  () => [jsonBody],
  async (ex) => new Response(`${ex.request.headers.get("content-type")} ${await ex.request.text()}`),
);
afterAll(() => server.stop());

const post = (body: string, headers: Record<string, string>) =>
  fetch(`${server.url}/devices/d/call`, { method: "POST", body, headers });

describe("jsonBody", () => {
  test("a form or text body is refused with 422 before the route sees it", async () => {
    for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "multipart/form-data"]) {
      const res = await post("method=reset", { "content-type": type });
      expect(res.status).toBe(422);
      const body = (await res.json()) as any;
      expect(body.error.type).toBe("ValidationError");
      expect(body.error.context.location).toBe("body");
      expect(body.error.message).toContain(`got '${type.split(";")[0]}'`);
    }
  });

  test("application/json (any case, with parameters) and an undeclared type pass", async () => {
    const mixed = await post("{}", { "content-type": "Application/JSON; charset=utf-8" });
    expect(mixed.status).toBe(200);
    expect(await mixed.text()).toBe("application/json; charset=utf-8 {}"); // passed on as the parser spells it
    expect((await fetch(`${server.url}/x`, { method: "POST", body: new Uint8Array([123, 125]) })).status).toBe(200);
  });

  test("an empty body and GET requests are not checked", async () => {
    expect((await post("", { "content-type": "text/plain" })).status).toBe(200);
    expect((await fetch(`${server.url}/x`, { headers: { "content-type": "text/plain" } })).status).toBe(200);
  });

  test("invalidJson is the one 422 for a body that does not parse", () => {
    const e = invalidJson();
    expect([e.status, e.type, e.message]).toEqual([422, "ValidationError", "Request body is not valid JSON"]);
    expect(e.context).toEqual({ location: "body", errors: [] });
  });
});
