// What an append may add to a dataset whose type its first record fixed: only values it holds exactly.
import { expect, test } from "bun:test";
import { firstLoss } from "../../src/data/recordedValues.ts";

test("firstLoss accepts values the dataset's type holds exactly and names the first it would change", () => {
  expect(firstLoss("int16", Float64Array.from([2, -3, 32767]))).toBe(-1);
  expect(firstLoss("int16", Float64Array.from([2, 32768]))).toBe(1);
  expect(firstLoss("uint8", new Int16Array([0, 255, -1]))).toBe(2);
  expect(firstLoss("float32", Float64Array.from([0.5, Number.NaN, 0.1]))).toBe(2);
  expect(firstLoss("float64", new Int32Array([2 ** 31 - 1]))).toBe(-1);
  expect(firstLoss("float64", new Float32Array([0.1]))).toBe(-1);
  expect(firstLoss("int64", Float64Array.from([1]))).toBe(0);
  expect(firstLoss("int64", new BigUint64Array([1n, 2n ** 63n]))).toBe(1);
  expect(firstLoss("float64", new BigInt64Array([1n]))).toBe(0);
});
