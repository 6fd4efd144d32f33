import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isUpToDate } from "../../tools/compile.ts";

const root = mkdtempSync(join(tmpdir(), "ld-compile-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(rel: string, secondsAgo: number) {
  const path = join(root, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, rel);
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

test("the executable is rebuilt when any source, driver, the addon or the lock file is newer", () => {
  for (const f of [
    "src/cli/main.ts",
    "src/core/daemon.ts",
    "drivers/sim/laser.ts",
    "package-lock.json",
    "build/Release/labdaemon_native.node",
  ])
    file(f, 100);
  expect(isUpToDate(root)).toBe(false); // no executable yet
  file("dist/labdaemon", 50);
  expect(isUpToDate(root)).toBe(true);
  let ago = 40;
  for (const [f, label] of [
    ["drivers/sim/laser.ts", "a driver"],
    ["src/core/daemon.ts", "a deep source"],
    ["build/Release/labdaemon_native.node", "the addon"],
    ["package-lock.json", "the lock file"],
  ] as const) {
    file(f, ago);
    expect(`${label}: ${isUpToDate(root)}`).toBe(`${label}: false`);
    file("dist/labdaemon", ago - 5);
    ago -= 10;
    expect(isUpToDate(root)).toBe(true);
  }
  file("build/web/launcher.html", 2); // an embedded page, rebuilt after the executable
  expect(isUpToDate(root)).toBe(false);
  file("dist/labdaemon", 1);
  file("test/anything.test.ts", 0); // tests are not part of the executable
  file("README.md", 0);
  expect(isUpToDate(root)).toBe(true);
});
