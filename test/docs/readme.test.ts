// The README's library example is real code: run it and check what it prints.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("the README's library example runs and prints the sweep", async () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Library"));
  const code = section.slice(section.indexOf("```ts") + 5, section.indexOf("```", section.indexOf("```ts") + 5));
  const dir = mkdtempSync(join(tmpdir(), "ld-readme-"));
  const file = join(dir, "example.ts");
  writeFileSync(file, code.replace(`from "labdaemon"`, `from ${JSON.stringify(join(import.meta.dir, "../../src/index.ts"))}`));
  const p = Bun.spawn([process.execPath, file], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code_] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(err).toBe("");
  expect(code_).toBe(0);
  expect(out.replace(/\s+/g, "")).toBe(JSON.stringify(Array.from({ length: 11 }, (_, i) => 1550 + i)));
});
