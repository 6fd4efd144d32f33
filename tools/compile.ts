// The single executable: `bun build --compile` of src/cli/main.ts into dist/labdaemon, with the native
// addon (required by a literal path) and the Swagger UI assets (imported as files) embedded.
// Skipped when the executable is newer than everything that goes into it, so `npm start` is quick.
import { $ } from "bun";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export const OUTFILE = "dist/labdaemon";
/** Scripts started with `new Worker(...)`: the HDF5 writer. */
export const WORKER_ENTRIES = ["src/data/writerWorker.ts"];

/** Everything whose change must rebuild the executable (node_modules changes show in package-lock.json). */
// build/web: the pages are embedded as built; a page rebuilt after the executable must rebuild it too.
const INPUT_DIRS = ["src", "drivers", "web", "build/web"];
const INPUT_FILES = [
  "package.json",
  "package-lock.json",
  "bunfig.toml",
  "tsconfig.json",
  "build/Release/labdaemon_native.node",
];

/**
 * Minified, identifiers included: the built-in drivers name their parameters in their `methods`
 * metadata, so kwargs and /methods do not depend on source names that renaming would turn into `e`, `t`.
 * A bunfig.toml in the folder the appliance is started from must not change it (preload scripts).
 * `--bytecode` (tried first) halves the time from exec to a healthy server by skipping the parse of ~1 MB
 * of JavaScript at every start.
 */
const FLAGS = ["--minify", "--sourcemap", "--no-compile-autoload-bunfig"];

export interface CompileResult {
  outfile: string;
  /** false when the existing executable was up to date. */
  built: boolean;
  ms: number;
}

export async function compileExecutable(
  root: string,
  opts: { force?: boolean; quiet?: boolean } = {},
): Promise<CompileResult> {
  const started = performance.now();
  const outfile = join(root, OUTFILE);
  const addon = join(root, "build/Release/labdaemon_native.node");
  if (!existsSync(addon)) throw new Error(`${addon} is missing: build the native addon first (bun build.ts --native)`);
  if (!opts.force && isUpToDate(root)) {
    if (!opts.quiet) console.log(`${OUTFILE} is up to date`);
    return { outfile, built: false, ms: performance.now() - started };
  }
  // A second build of the same tree may run at once (tests, npm start): each writes its own file
  // and renames it into place, so nobody ever executes a half-written binary.
  if (!opts.quiet) console.log(`${OUTFILE}: compiling (bun build --compile, the addon and the Swagger UI embedded)`);
  const tmp = `${outfile}.${process.pid}.tmp`;
  const entry = join(root, "src/cli/main.ts");
  // Worker scripts are entry points of their own: the executable carries them beside main.
  const workers = WORKER_ENTRIES.map((w) => join(root, w));
  const build = (extra: string[]) =>
    $`${process.execPath} build --compile ${FLAGS} ${extra} ${entry} ${workers} --outfile ${tmp}`
      .cwd(root)
      .quiet()
      .nothrow();
  let result = await build(["--bytecode"]);
  if (result.exitCode !== 0 && /"await" can only be used/.test(result.stderr.toString())) {
    // Bytecode needs CommonJS, which has no top-level await; one module using it costs start-up time, not function.
    const where = /at (\S+:\d+:\d+)/.exec(result.stderr.toString())?.[1] ?? "a module";
    console.warn(`note: building without --bytecode (start-up ~2× slower): top-level await in ${where}`);
    result = await build([]);
  }
  if (result.exitCode !== 0) {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.map`, { force: true });
    throw new Error(
      `bun build --compile failed (exit ${result.exitCode}):\n${result.stderr.toString()}${result.stdout.toString()}`,
    );
  }
  await $`mv -f ${tmp} ${outfile}`.quiet();
  // The map is embedded in the executable too; the file beside it is for reading stack traces by hand.
  if (existsSync(`${tmp}.map`)) await $`mv -f ${tmp}.map ${outfile}.map`.quiet();
  const ms = performance.now() - started;
  if (!opts.quiet)
    console.log(`${OUTFILE}: ${(statSync(outfile).size / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(1)} s`);
  return { outfile, built: true, ms };
}

/** dist/labdaemon exists and is at least as new as every file that goes into it. */
export function isUpToDate(root: string): boolean {
  const outfile = join(root, OUTFILE);
  return existsSync(outfile) && statSync(outfile).mtimeMs >= newestInput(root);
}

function newestInput(root: string): number {
  let newest = 0;
  const visit = (path: string) => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (st.mtimeMs > newest) newest = st.mtimeMs;
  };
  for (const d of INPUT_DIRS) visit(join(root, d));
  for (const f of INPUT_FILES) visit(join(root, f));
  return newest;
}
