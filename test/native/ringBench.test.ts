// The two-thread transfer benchmark that bench/ring.ts reports: every queue it compares must deliver
// every sample once and in order, or its figures mean nothing. It lives in the benchmark addon
// (`bun build.ts --native --bench`, which `npm test` runs), not in the shipped one.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { benchAddon, type Transfer } from "../../bench/_benchAddon.ts";
import { native } from "../../src/io/native.ts";

describe("benchRingTransfer (the benchmark addon)", () => {
  for (const kind of ["ring", "mutex", "mutexPerSample"] as const) {
    for (const pin of [true, false]) {
      test(`${kind}, ${pin ? "pinned" : "unpinned"}: every sample arrives once, in order`, async () => {
        const r = await benchAddon.benchRingTransfer(kind, { samples: 200_003, batch: 64, capacity: 1024, pin });
        expect(r.samples).toBe(200_003);
        expect(r.inOrder).toBe(true);
        expect(r.seconds).toBeGreaterThan(0);
      });
    }
  }

  test("refuses an unknown kind and bad parameters without starting threads", () => {
    const transfer = benchAddon.benchRingTransfer as (kind: string, params: object) => Promise<Transfer>;
    expect(() => transfer("constructor", {})).toThrow(/kind must be/);
    expect(() => transfer("ring", { batch: 0 })).toThrow(/positive integer/);
    expect(() => transfer("ring", { batch: 64, capacity: 1000 })).toThrow(/power of two/);
    expect(() => transfer("mutexPerSample", { batch: 2048, capacity: 1024 })).toThrow(/must not exceed/);
  });
});

test("the shipped addon carries no benchmark code", () => {
  expect("benchRingTransfer" in native).toBe(false);
  const shipped = readFileSync(`${import.meta.dir}/../../build/Release/labdaemon_native.node`);
  expect(shipped.includes("benchRingTransfer")).toBe(false);
  expect(shipped.includes("MutexQueue")).toBe(false);
});
