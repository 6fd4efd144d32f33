// Runs every benchmark in bench/ (each prints its own ratio against a baseline measured in the same run).
// Usage: bun bench/run.ts [name-filter]
import { readdirSync } from "node:fs";

const filter = process.argv[2] ?? "";
const files = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_") && f.includes(filter))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f}`);
  const p = Bun.spawn(["bun", `${import.meta.dir}/${f}`], { stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) failed++;
}
process.exit(failed ? 1 : 0);
