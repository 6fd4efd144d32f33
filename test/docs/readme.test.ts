// The README's examples are real code: run each as a user would and check what it prints.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const imports: Record<string, string> = {
  labdaemon: join(root, "src/index.ts"),
  "labdaemon/sim": join(root, "drivers/sim/scpi/index.ts"),
};

/** Runs the first ```ts block after `heading`, with the package's imports pointed at this checkout. */
async function runExample(heading: string): Promise<string> {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(heading));
  const start = section.indexOf("```ts") + 5;
  let code = section.slice(start, section.indexOf("```", start));
  for (const [name, path] of Object.entries(imports))
    code = code.replaceAll(`from "${name}"`, `from ${JSON.stringify(path)}`);
  const file = join(mkdtempSync(join(tmpdir(), "ld-readme-")), "example.ts");
  writeFileSync(file, code);
  const p = Bun.spawn([process.execPath, file], { stdout: "pipe", stderr: "pipe", timeout: 15_000 });
  const [out, err, status] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  expect(err).toBe("");
  expect(status).toBe(0);
  return out;
}

test("the README's library example runs and prints the sweep", async () => {
  const out = await runExample("## Library");
  expect(out.replace(/\s+/g, "")).toBe(JSON.stringify(Array.from({ length: 11 }, (_, i) => 1550 + i)));
});

test("the README's instrument example runs against its simulator and prints what its comments say", async () => {
  const out = await runExample("## Instruments");
  expect(out.trim().split("\n")).toEqual(["ACME,DMM-1,42,1.0", "2.500", "1000", "true", "null", "2560 0 2559"]);
});
