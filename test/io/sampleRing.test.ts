// SampleRing from JS: capacity, dtype and overflow checks, drain and drainInto, pushes and counters.
import { describe, expect, test } from "bun:test";
import { ringCapacityFor, SampleRing } from "../../src/io/sampleRing.ts";

describe("SampleRing", () => {
  test("a capacity that is not a power of two is a RangeError; bad dtype or overflow a TypeError", () => {
    expect(() => new SampleRing({ capacity: 1000 })).toThrow(RangeError);
    expect(() => new SampleRing({ capacity: 1 })).toThrow(RangeError);
    expect(() => new SampleRing({ capacity: 2 ** 32 })).toThrow(RangeError);
    expect(() => new SampleRing({ capacity: 8, dtype: "uint8" as never })).toThrow(TypeError);
    expect(() => new SampleRing({ capacity: 8, overflow: "block" as never })).toThrow(TypeError);
    expect(() => new SampleRing({ capacity: "8" as never })).toThrow(TypeError);
    expect(ringCapacityFor(1000)).toBe(1024);
    expect(ringCapacityFor(1024)).toBe(1024);
  });

  test("each dtype drains into its own typed array, values intact", () => {
    const cases = [
      ["float32", Float32Array, [1.5, -2.25, 3]],
      ["float64", Float64Array, [Math.PI, -1e300, 0]],
      ["int16", Int16Array, [32767, -32768, 5]],
      ["int32", Int32Array, [2 ** 31 - 1, -(2 ** 31), 7]],
    ] as const;
    for (const [dtype, Ctor, values] of cases) {
      const ring = new SampleRing({ capacity: 8, dtype });
      expect(ring.dtype).toBe(dtype);
      expect(ring.push(new Ctor(values) as never)).toBe(3);
      const out = ring.drain();
      expect(out).toBeInstanceOf(Ctor);
      expect(Array.from(out)).toEqual(Array.from(new Ctor(values)));
      expect(ring.drain()).toBeInstanceOf(Ctor);
      expect(ring.drain().length).toBe(0);
    }
  });

  test("drain(max) takes the oldest max samples and leaves the rest", () => {
    const ring = new SampleRing({ capacity: 16 });
    ring.push(new Float64Array([0, 1, 2, 3, 4, 5]));
    expect(Array.from(ring.drain(4))).toEqual([0, 1, 2, 3]);
    expect(ring.available).toBe(2);
    expect(Array.from(ring.drain(0))).toEqual([]);
    expect(Array.from(ring.drain(100))).toEqual([4, 5]);
    expect(() => ring.drain(-1)).toThrow(RangeError);
    expect(() => ring.drain("3" as never)).toThrow(TypeError);
  });

  test("drainInto fills a caller's array without allocating and refuses another dtype", () => {
    const ring = new SampleRing({ capacity: 8, dtype: "int32" });
    ring.push(new Int32Array([9, 8, 7]));
    const target = new Int32Array(10);
    expect(ring.drainInto(target.subarray(2) as Int32Array)).toBe(3);
    expect(Array.from(target.slice(0, 5))).toEqual([0, 0, 9, 8, 7]);
    expect(() => ring.drainInto(new Float32Array(4) as never)).toThrow(TypeError);
    expect(() => ring.push(new Float64Array(1) as never)).toThrow(TypeError);
  });

  test("drop-newest refuses what does not fit and the counters add up", () => {
    const ring = new SampleRing({ capacity: 8, dtype: "int16", overflow: "drop-newest" });
    expect(ring.push(Int16Array.from({ length: 11 }, (_, i) => i))).toBe(8);
    expect(ring.counters()).toEqual({ written: 11, read: 0, dropped: 3, highWater: 0, available: 8, capacity: 8 });
    expect(Array.from(ring.drain())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const c = ring.counters();
    expect(c.written).toBe(c.read + c.dropped + c.available);
    expect([ring.written, ring.read, ring.dropped, ring.highWater]).toEqual([11, 8, 3, 8]);
  });

  test("overwrite-oldest keeps the newest samples and counts the overwritten", () => {
    const ring = new SampleRing({ capacity: 8, dtype: "float32", overflow: "overwrite-oldest" });
    expect(ring.overflow).toBe("overwrite-oldest");
    expect(ring.push(Float32Array.from({ length: 13 }, (_, i) => i))).toBe(13);
    expect(Array.from(ring.drain())).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(ring.counters()).toMatchObject({ written: 13, read: 8, dropped: 5, available: 0 });
  });
});
