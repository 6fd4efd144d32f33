// Runs the C++ test runner of the native cores (build/native_tests, built by `bun build.ts --native`).
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";

const runner = `${import.meta.dir}/../../build/native_tests`;

test("every native core test passes (build/native_tests exits 0, every line ok)", async () => {
  expect(existsSync(runner)).toBe(true);
  const proc = Bun.spawn([runner], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const lines = out.trim().split("\n");
  const summary = lines.pop() ?? "";
  const notOk = lines.filter((l) => !l.startsWith("ok "));
  expect({ notOk, stderr: err }).toEqual({ notOk: [], stderr: "" });
  expect(summary).toMatch(/^\d+ passed, 0 failed$/);
  expect(lines.length).toBeGreaterThan(0);
  expect(code).toBe(0);
}, 130_000);
