// The import-cycle finder behind `npm run lint`: finds every cycle, including self-imports, and nothing else.
import { expect, test } from "bun:test";
import { findCycles } from "../../tools/cycles.ts";

test("reports each strongly connected group once and leaves acyclic chains alone", () => {
  const graph = new Map<string, string[]>([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", ["e"]],
    ["e", []],
    ["s", ["s"]],
    ["x", ["y"]],
    ["y", ["x"]],
  ]);
  const found = findCycles(graph)
    .map((c) => c.join(","))
    .sort();
  expect(found).toEqual(["a,b,c", "s", "x,y"]);
});

test("an acyclic graph has no cycles", () => {
  expect(
    findCycles(
      new Map([
        ["a", ["b"]],
        ["b", []],
      ]),
    ),
  ).toEqual([]);
});
