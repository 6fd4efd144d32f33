// /openapi.json checked by an independent validator (the one code generators rely on), and its tags.
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterEach, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/apiServer.ts";

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

async function document(token?: string): Promise<any> {
  s = await startTestServer(token ? { token } : {});
  const r = await s.req("GET", "/openapi.json", undefined, token ? { authorization: `Bearer ${token}` } : {});
  expect(r.status).toBe(200);
  return r.body;
}

/** The validator's complaints, or [] when the document is valid. */
async function problems(doc: unknown): Promise<string[]> {
  try {
    await SwaggerParser.validate(structuredClone(doc) as never);
    return [];
  } catch (e) {
    return String((e as Error).message)
      .split("\n")
      .filter((l) => l.trim() !== "");
  }
}

test("the OpenAPI document passes @apidevtools/swagger-parser, with and without a token", async () => {
  for (const token of [undefined, "tok"]) {
    const doc = await document(token);
    expect(doc.openapi).toBe("3.1.0");
    expect(await problems(doc)).toEqual([]);
    await s!.close();
    s = null;
  }
});

test("the validator is not a rubber stamp: the same schemas under a 3.0 header are refused", async () => {
  // typebox writes JSON Schema (`const`, numeric exclusiveMinimum), which only OpenAPI 3.1 allows.
  const doc = await document();
  expect((await problems({ ...doc, openapi: "3.0.3" })).length).toBeGreaterThan(0);
});

test("every operation's tags are declared, and the stream routes sit under one tag", async () => {
  const doc = await document();
  const declared = (doc.tags as { name: string }[]).map((t) => t.name);
  const streamTags = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const op of Object.values(ops)) {
      expect(op.tags.length).toBe(1);
      expect(declared).toContain(op.tags[0]);
      if (path.startsWith("/stream/") || path.endsWith("/stream/stop")) streamTags.add(op.tags[0]);
    }
  }
  expect([...streamTags]).toEqual(["stream"]);
});

test("commands document the optional X-Lease-Id header; bodies that may be left out are not required", async () => {
  const doc = await document();
  const leaseHeader = (method: string, path: string) =>
    (doc.paths[path][method].parameters as { name: string; in: string; required: boolean }[]).find(
      (p) => p.in === "header" && p.name === "X-Lease-Id",
    );
  for (const [method, path] of [
    ["post", "/devices/{device_id}/call"],
    ["post", "/devices/{device_id}/connect"],
    ["delete", "/devices/{device_id}"],
    ["post", "/tasks"],
    ["get", "/stream/devices/{device_id}"],
  ] as const)
    expect(leaseHeader(method, path)).toMatchObject({ required: false });
  expect(leaseHeader("get", "/devices/{device_id}")).toBeUndefined(); // a read needs no lease
  expect(doc.paths["/devices/{device_id}/lease/renew"].post.requestBody.required).toBe(false);
  expect(doc.paths["/devices/{device_id}/call"].post.requestBody.required).toBe(true);
  expect(await problems(doc)).toEqual([]);
});
