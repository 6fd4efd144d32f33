// Runs the C++ tests of the native cores (build/native_tests, built by `bun build.ts --native`), one bun
// test per native TEST: the runner lists its tests, and each is run alone in its own process.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";

const runner = `${import.meta.dir}/../../build/native_tests`;
// A hang guard only: every native wait has its own bound, well below this.
const HANG_GUARD_MS = 120_000;

function listed(): string[] {
  if (!existsSync(runner)) return [];
  const proc = Bun.spawnSync([runner, "--list"], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${runner} --list exited ${proc.exitCode}: ${proc.stderr.toString()}`);
  return proc.stdout
    .toString()
    .split("\n")
    .filter((l) => l.length > 0);
}

const names = listed();

test("build/native_tests exists and lists its tests, each name once", () => {
  expect(existsSync(runner)).toBe(true);
  expect(names.length).toBeGreaterThan(0);
  expect(new Set(names).size).toBe(names.length);
});

for (const name of names) {
  test(
    `native: ${name}`,
    async () => {
      const proc = Bun.spawn([runner, "--exact", name], { stdout: "pipe", stderr: "pipe", timeout: HANG_GUARD_MS });
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect({ out, err, code }).toEqual({ out: `ok ${name}\n1 passed, 0 failed\n`, err: "", code: 0 });
    },
    HANG_GUARD_MS + 10_000,
  );
}
