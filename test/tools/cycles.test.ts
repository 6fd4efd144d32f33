// The import check behind `npm run lint`: finds every cycle, including self-imports, and nothing else;
// and every import that breaks a room rule, and nothing else.
import { expect, test } from "bun:test";
import { findCycles, importGraph, roomViolations } from "../../tools/cycles.ts";

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

test("room rules: src/ never imports tools/, drivers/ never src/cli/, src/ outside src/cli/ never drivers/", () => {
  const graph = new Map<string, string[]>([
    ["src/io/a.ts", ["tools/compile.ts", "src/io/b.ts"]],
    ["src/cli/simLab.ts", ["drivers/index.ts", "tools/nativeBuild.ts"]],
    ["src/server/index.ts", ["drivers/sim/laser.ts"]],
    ["drivers/sim/scpi/definition.ts", ["src/cli/config.ts", "src/files/dataFile.ts"]],
    ["drivers/index.ts", ["src/index.ts"]],
    ["tools/compile.ts", ["src/cli/plural.ts", "drivers/index.ts"]],
    ["build.ts", ["tools/compile.ts"]],
  ]);
  const broken = roomViolations(graph).map((m) => m.slice(0, m.indexOf(":")));
  expect(broken.sort()).toEqual([
    "drivers/sim/scpi/definition.ts imports src/cli/config.ts",
    "src/cli/simLab.ts imports tools/nativeBuild.ts",
    "src/io/a.ts imports tools/compile.ts",
    "src/server/index.ts imports drivers/sim/laser.ts",
  ]);
  expect(roomViolations(graph)[0]).toMatch(/never imports/);
});

test("the repository keeps the room rules", () => {
  const graph = importGraph();
  expect(graph.has("src/io/messageInstrument.ts")).toBe(true);
  expect(graph.get("src/cli/simLab.ts")?.some((f) => f.startsWith("drivers/"))).toBe(true);
  expect(roomViolations(graph)).toEqual([]);
});
