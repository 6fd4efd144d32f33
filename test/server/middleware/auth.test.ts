import { afterAll, describe, expect, test } from "bun:test";
import { auth, TokenAuth } from "../../../src/server/middleware/auth.ts";
import { serveChain } from "./support.ts";

const server = serveChain(() => [auth(new TokenAuth("s3cret"))]);
afterAll(() => server.stop());

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });

describe("auth", () => {
  test("without a token there is no check; an empty token is refused", () => {
    expect(auth(null)).toBeNull();
    expect(() => new TokenAuth("")).toThrow("must not be empty");
  });

  test("a request without the token is 401 Unauthorized with WWW-Authenticate: Bearer", async () => {
    const res = await get("/devices");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(((await res.json()) as any).error.type).toBe("Unauthorized");
    expect((await get("/devices", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await get("/devices", { authorization: "Basic czNjcmV0" })).status).toBe(401);
  });

  test("the Bearer token passes, whatever the scheme's case and surrounding blanks", async () => {
    expect((await get("/devices", { authorization: "Bearer s3cret" })).status).toBe(200);
    expect((await get("/devices", { authorization: "bearer   s3cret " })).status).toBe(200);
  });

  test("?token= is taken only where a browser cannot set headers: streams, /swagger, /openapi.json", async () => {
    for (const path of ["/stream/dev1", "/swagger", "/openapi.json"]) {
      expect((await get(`${path}?token=s3cret`)).status).toBe(200);
      expect((await get(`${path}?token=nope`)).status).toBe(401);
    }
    expect((await get("/devices?token=s3cret")).status).toBe(401);
  });

  test("/health and the Swagger UI's static assets stay open", async () => {
    expect((await get("/health")).status).toBe(200);
    expect((await get("/swagger/assets/swagger-ui.css")).status).toBe(200);
  });
});
