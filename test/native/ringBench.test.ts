// The two-thread transfer benchmark that bench/ring.ts reports: every queue it compares must deliver
// every sample once and in order, or its figures mean nothing.
import { describe, expect, test } from "bun:test";
import { native } from "../../src/io/native.ts";

interface Transfer {
  samples: number;
  seconds: number;
  inOrder: boolean;
}

describe("native.benchRingTransfer", () => {
  for (const kind of ["ring", "mutex", "mutexPerSample"] as const) {
    for (const pin of [true, false]) {
      test(`${kind}, ${pin ? "pinned" : "unpinned"}: every sample arrives once, in order`, async () => {
        const r: Transfer = await native.benchRingTransfer(kind, { samples: 200_003, batch: 64, capacity: 1024, pin });
        expect(r.samples).toBe(200_003);
        expect(r.inOrder).toBe(true);
        expect(r.seconds).toBeGreaterThan(0);
      });
    }
  }

  test("refuses an unknown kind and bad parameters without starting threads", () => {
    expect(() => native.benchRingTransfer("constructor", {})).toThrow(/kind must be/);
    expect(() => native.benchRingTransfer("ring", { batch: 0 })).toThrow(/positive integer/);
    expect(() => native.benchRingTransfer("ring", { batch: 64, capacity: 1000 })).toThrow(/power of two/);
    expect(() => native.benchRingTransfer("mutexPerSample", { batch: 2048, capacity: 1024 })).toThrow(
      /must not exceed/,
    );
  });
});
