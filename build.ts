// Builds labdaemon: the native addon (cmake-js) and, unless --native, the single executable
// (src/cli/compile.ts; skipped when dist/labdaemon is newer than its sources). --force rebuilds it.
// Usage: bun build.ts [--native] [--force]
import { $ } from "bun";
import { compileExecutable } from "./src/cli/compile.ts";

const root = import.meta.dir;
const nativeOnly = process.argv.includes("--native");

async function buildNative(): Promise<void> {
  // cmake-js + ninja rebuild only what changed; a no-op build takes well under a second.
  await $`${root}/node_modules/.bin/cmake-js build --directory ${root}/native --out ${root}/build`.quiet();
}

await buildNative();
if (!nativeOnly) await compileExecutable(root, { force: process.argv.includes("--force") });
