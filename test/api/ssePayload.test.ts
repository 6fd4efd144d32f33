// Payloads on the wire: typed arrays, NaN/Infinity, base64 encoding, cycles, and payloads JSON cannot hold.
// Streams and call results share one encoder (server/json.ts), so what holds here holds for results too.
import { afterEach, describe, expect, test } from "bun:test";
import { toJson as encodePayload } from "../../src/server/json.ts";
import { type ManualStreamDevice, until } from "../support/fixtures.ts";
import { RawStream, startSseServer, type TestServer } from "./sseSupport.ts";

describe("toJson, as streams use it", () => {
  test("typed arrays become arrays; NaN and ±Infinity become null", () => {
    expect(encodePayload(new Float64Array([1.5, NaN, Infinity, -Infinity]), "json")).toBe("[1.5,null,null,null]");
    expect(encodePayload([1, NaN], "json")).toBe("[1,null]");
    expect(encodePayload({ a: new Int16Array([-2, 3]), b: { c: new Float32Array([0.5]) }, d: NaN }, "json")).toBe(
      '{"a":[-2,3],"b":{"c":[0.5]},"d":null}',
    );
    expect(encodePayload(new BigInt64Array([5n]), "json")).toBe("[5]");
    // bigints as in call results: exact numbers, strings beyond 2^53
    expect(encodePayload(new BigUint64Array([2n ** 64n - 1n, 3n]), "json")).toBe('["18446744073709551615",3]');
    expect(encodePayload({ big: 2n ** 53n, ok: -(2n ** 53n - 1n) }, "json")).toBe(
      '{"big":"9007199254740992","ok":-9007199254740991}',
    );
    expect(encodePayload({ n: 7n, s: new Set([1]), m: new Map([["k", 1]]) }, "json")).toBe(
      '{"n":7,"s":[1],"m":{"k":1}}',
    );
    expect(encodePayload(undefined, "json")).toBe("null");
  });

  test("plain payloads are written unchanged and not copied", () => {
    const p = { x: [1, 2, { y: "z" }], t: "s" };
    expect(encodePayload(p, "json")).toBe(JSON.stringify(p));
  });

  test("base64 sends typed arrays as {dtype, data} with little-endian bytes", () => {
    const f = new Float32Array([1, -2.5, NaN]);
    const out = JSON.parse(encodePayload({ ch: [f], t: 1 }, "base64"));
    expect(out.t).toBe(1);
    expect(out.ch[0].dtype).toBe("float32");
    const raw = Buffer.from(out.ch[0].data, "base64");
    const back = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    expect(Array.from(back.slice(0, 2))).toEqual([1, -2.5]);
    expect(Number.isNaN(back[2])).toBe(true);
    const dtypes = [
      new Float64Array(1),
      new Int8Array(1),
      new Uint8Array(1),
      new Uint16Array(1),
      new Int32Array(1),
      new Uint32Array(1),
      new BigUint64Array(1),
    ].map((a) => JSON.parse(encodePayload(a, "base64")).dtype);
    expect(dtypes).toEqual(["float64", "int8", "uint8", "uint16", "int32", "uint32", "uint64"]);
    // A view on part of a buffer sends only its own bytes.
    const big = new Float64Array([1, 2, 3, 4]);
    const part = JSON.parse(encodePayload(big.subarray(1, 3), "base64"));
    expect(Buffer.from(part.data, "base64").byteLength).toBe(16);
  });

  test('a cycle becomes "[Circular]" and a branch deeper than 64 levels "[Too deep]", in both encodings', () => {
    const a: any = { n: 1, list: [] };
    a.list.push(a, { back: a.list });
    // A value seen twice without a cycle is written twice.
    const shared = { v: 1 };
    a.twice = [shared, shared];
    for (const enc of ["json", "base64"] as const) {
      expect(JSON.parse(encodePayload(a, enc))).toEqual({
        n: 1,
        list: ["[Circular]", { back: "[Circular]" }],
        twice: [{ v: 1 }, { v: 1 }],
      });
    }
    let deep: any = 0;
    for (let i = 0; i < 100; i++) deep = [deep];
    let level = JSON.parse(encodePayload(deep, "json"));
    for (let i = 0; i < 64; i++) level = level[0];
    expect(level).toBe("[Too deep]");
  });

  test("errors, dates, throwing getters and toJSON are written as in call results", () => {
    const odd = {
      err: new RangeError("out of range"),
      when: new Date(0),
      never: new Date(Number.NaN),
      get broken(): number {
        throw new Error("getter");
      },
      custom: { toJSON: () => ({ big: 2n }) },
      failing: {
        toJSON() {
          throw new Error("toJSON");
        },
      },
      f: () => 1,
    };
    expect(JSON.parse(encodePayload(odd, "json"))).toEqual({
      err: { type: "RangeError", message: "out of range" },
      when: "1970-01-01T00:00:00.000Z",
      never: null,
      broken: null,
      custom: { big: 2 },
      failing: null,
    });
  });
});

describe("payloads over SSE", () => {
  let srv: TestServer;
  afterEach(async () => {
    await srv.stop();
  });

  test("json and base64 subscribers of one device each get their encoding", async () => {
    srv = await startSseServer();
    srv.daemon.addDevice("m1", "ManualStreamDevice");
    const dev = srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
    const j = await RawStream.open(`${srv.base}/stream/devices/m1`);
    const b = await RawStream.open(`${srv.base}/stream/devices/m1?encoding=base64`);
    await until(
      () => srv.sse.stats("m1")?.subscribers === 2 && srv.daemon.deviceState("m1").streaming,
      2000,
      "both subscribed",
    );
    dev.emit(new Float64Array([1, NaN, 3]), { v: 2 });
    await j.until(() => j.data.length === 2);
    await b.until(() => b.data.length === 2);
    expect(j.data[0].payload).toEqual([1, null, 3]);
    expect(b.data[0].payload.dtype).toBe("float64");
    expect(Array.from(new Float64Array(Uint8Array.from(Buffer.from(b.data[0].payload.data, "base64")).buffer))).toEqual(
      [1, NaN, 3],
    );
    expect(b.data[1].payload).toEqual({ v: 2 });
    expect(j.data.map((d) => d.sequence)).toEqual(b.data.map((d) => d.sequence));
    j.close();
    b.close();
  });

  test('a cyclic payload reaches the client with "[Circular]" where the cycle closes', async () => {
    srv = await startSseServer();
    srv.daemon.addDevice("m1", "ManualStreamDevice");
    const dev = srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
    const s = await RawStream.open(`${srv.base}/stream/devices/m1`);
    await until(() => srv.daemon.deviceState("m1").streaming, 2000, "streaming");
    const cyclic: any = { v: new Float64Array([1, NaN]) };
    cyclic.self = cyclic;
    dev.emit(cyclic);
    await s.until(() => s.data.length === 1);
    expect(s.data[0].payload).toEqual({ v: [1, null], self: "[Circular]" });
    expect(srv.sse.stats("m1")!.encode_failures).toBe(0);
    s.close();
  });

  test("a payload whose keys cannot be listed is skipped (a sequence gap), recorded, and the stream goes on", async () => {
    srv = await startSseServer();
    const errors: string[] = [];
    srv.daemon.on("error", (e) => errors.push(`${e.origin}:${e.id}`));
    srv.daemon.addDevice("m1", "ManualStreamDevice");
    const dev = srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
    const s = await RawStream.open(`${srv.base}/stream/devices/m1`);
    await until(() => srv.daemon.deviceState("m1").streaming, 2000, "streaming");
    const bad = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    dev.emit(1, bad, 3);
    await s.until(() => s.data.length === 2);
    expect(s.data.map((d) => [d.sequence, d.payload])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(errors).toEqual(["callback:m1"]);
    expect(srv.sse.stats("m1")!.encode_failures).toBe(1);
    s.close();
  });
});
