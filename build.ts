// Builds labdaemon: the native addon (cmake-js), the browser pages (tools/webBuild.ts) and, unless --native,
// the single executable (tools/compile.ts; skipped when dist/labdaemon is newer than its sources). --force rebuilds it.
// --build-dir builds the addon elsewhere (with --native only: the executable embeds build/Release's).
// --bench also builds the benchmark addon (build/Release/labdaemon_bench.node), which nothing shipped loads.
// A failed build removes dist/labdaemon: an executable left from before would pass for this tree's.
// --target windows-x64 cross-builds dist/labdaemon.exe instead (tools/windowsBuild.ts).
// Usage: bun build.ts [--native] [--bench] [--force] [--build-dir DIR] | bun build.ts --target windows-x64
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compileExecutable, OUTFILE } from "./tools/compile.ts";
import { buildNative } from "./tools/nativeBuild.ts";
import { buildPages } from "./tools/webBuild.ts";
import { buildWindows, WINDOWS_OUTFILE } from "./tools/windowsBuild.ts";

const USAGE =
  "Usage: bun build.ts [--native] [--bench] [--force] [--build-dir DIR] | bun build.ts --target windows-x64";
const TARGETS = ["linux-x64", "windows-x64"];
const root = import.meta.dir;

function options(): {
  native: boolean;
  bench: boolean;
  force: boolean;
  buildDir: string | undefined;
  target: string | undefined;
} {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        native: { type: "boolean" },
        bench: { type: "boolean" },
        force: { type: "boolean" },
        "build-dir": { type: "string" },
        target: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usageError((e as Error).message);
  }
  if (values["build-dir"] !== undefined && !values.native)
    usageError("--build-dir needs --native (the executable embeds the addon in build/Release)");
  const target = values.target;
  if (target !== undefined && !TARGETS.includes(target))
    usageError(`--target ${target} is not one of ${TARGETS.join(", ")}`);
  // The Windows addon has no benchmark addon beside it: --bench would be silently left out.
  if (target === "windows-x64" && (values.native || values.bench || values["build-dir"] !== undefined))
    usageError("--target windows-x64 builds the whole executable: it takes no --native, --bench or --build-dir");
  return {
    native: values.native === true,
    bench: values.bench === true,
    force: values.force === true,
    buildDir: values["build-dir"],
    target: target === "linux-x64" ? undefined : target,
  };
}

function usageError(message: string): never {
  console.error(`build: ${message}\n${USAGE}`);
  process.exit(2);
}

const opts = options();
if (opts.target === "windows-x64") {
  try {
    await buildPages(root);
    await buildWindows(root);
  } catch (e) {
    console.error(`build: ${(e as Error).message}`);
    rmSync(join(root, WINDOWS_OUTFILE), { force: true });
    process.exit(1);
  }
  process.exit(0);
}
try {
  await buildNative(root, { buildDir: opts.buildDir, bench: opts.bench });
  // Pages are small and quick to bundle; tests serve them too, so --native builds them as well.
  const pages = await buildPages(root);
  if (pages.length > 0) {
    const ms = pages.reduce((t, p) => t + p.ms, 0);
    console.log(
      `pages: ${pages.map((p) => `${p.page} (${Math.round(p.bytes / 1024)} kB)`).join(", ")} bundled in ${(ms / 1000).toFixed(1)} s`,
    );
  }
  if (!opts.native) await compileExecutable(root, { force: opts.force });
} catch (e) {
  console.error(`build: ${(e as Error).message}`);
  // An addon built elsewhere has nothing to do with this tree's executable.
  if (opts.buildDir === undefined && existsSync(join(root, OUTFILE))) {
    rmSync(join(root, OUTFILE), { force: true });
    rmSync(join(root, `${OUTFILE}.map`), { force: true });
    console.error(`build: removed ${OUTFILE}, which was not built from these sources`);
  }
  process.exit(1);
}
