// Builds labdaemon: the native addon (cmake-js) and, unless --native, the single executable.
// Usage: bun build.ts [--native]
import { $ } from "bun";

const root = import.meta.dir;
const nativeOnly = process.argv.includes("--native");

async function buildNative(): Promise<void> {
  // cmake-js + ninja rebuild only what changed; a no-op build takes well under a second.
  await $`${root}/node_modules/.bin/cmake-js build --directory ${root}/native --out ${root}/build`.quiet();
}

await buildNative();
if (!nativeOnly) {
  const compilePath = "./src/cli/compile.ts";
  const { compileExecutable } = await import(compilePath).catch(() => ({ compileExecutable: null }));
  if (!compileExecutable) {
    console.error("the executable is not built yet: src/cli/compile.ts is missing");
    process.exit(1);
  }
  await compileExecutable(root);
}
