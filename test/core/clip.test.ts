// clip(): the one way client-sent text is cut before it goes into an error message or context.
import { expect, test } from "bun:test";
import { clip } from "../../src/core/clip.ts";

test("text within the bound is returned as it is", () => {
  expect(clip("dev1", 140)).toBe("dev1");
  expect(clip("x".repeat(140), 140)).toBe("x".repeat(140));
  expect(clip("", 10)).toBe("");
});

test("longer text keeps its start and ends with … in at most max characters", () => {
  const cut = clip("y".repeat(1000), 140);
  expect(cut).toHaveLength(140);
  expect(cut).toBe(`${"y".repeat(139)}…`);
});

test("a surrogate pair at the cut is dropped whole, never split", () => {
  const cut = clip(`${"a".repeat(8)}😀${"b".repeat(10)}`, 10);
  expect(cut).toBe(`${"a".repeat(8)}…`);
  expect(cut.isWellFormed()).toBe(true);
});
