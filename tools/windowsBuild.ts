// Cross-builds dist/labdaemon.exe on Linux (`bun build.ts --target windows-x64`): the Windows runtime from
// the npm package @oven/bun-windows-x64 (same version as this bun, unpacked into build/windows/runtime),
// the addon with Debian's mingw-w64 (native/windows/addon.cmake), and `bun build --compile` of
// src/cli/windowsEntry.ts, which embeds that addon. Each step says what it does and how long it took.
import { $ } from "bun";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { WORKER_ENTRIES } from "./compile.ts";

export const WINDOWS_OUTFILE = "dist/labdaemon.exe";
/** Where windowsEntry.ts embeds the addon from (a literal path there). */
export const WINDOWS_ADDON = "build/windows/Release/labdaemon_native.node";
const ADDON_BUILD_DIR = "build/windows/addon";
const RUNTIME_DIR = "build/windows/runtime";
const TOOLS = ["x86_64-w64-mingw32-g++-posix", "x86_64-w64-mingw32-dlltool", "x86_64-w64-mingw32-strip", "cmake"];

export interface WindowsBuildOptions {
  print?: (line: string) => void;
}

export async function buildWindows(root: string, opts: WindowsBuildOptions = {}): Promise<string> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const missing = TOOLS.filter((t) => !Bun.which(t));
  if (missing.length > 0)
    throw new Error(
      `the Windows build needs ${missing.join(", ")}: apt-get install --no-install-recommends mingw-w64 cmake`,
    );
  const runtime = await windowsRuntime(root, print);
  await buildWindowsAddon(root, print);
  return compileWindowsExecutable(root, runtime, print);
}

/** bun.exe of this bun's version, from the npm registry once (npm pack), then from build/windows/runtime. */
export async function windowsRuntime(root: string, print: (line: string) => void = () => {}): Promise<string> {
  const version = Bun.version;
  const dir = join(root, RUNTIME_DIR, `bun-windows-x64-${version}`);
  const exe = join(dir, "bun.exe");
  if (existsSync(exe)) return exe;
  const t0 = performance.now();
  print(`windows runtime: npm pack @oven/bun-windows-x64@${version}`);
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const packed = await $`npm pack --silent @oven/bun-windows-x64@${version}`.cwd(work).quiet().nothrow();
  if (packed.exitCode !== 0)
    throw new Error(
      `npm pack @oven/bun-windows-x64@${version} failed (the Windows runtime comes from the npm registry):\n${packed.stderr}`,
    );
  const tgz = packed.stdout.toString().trim().split("\n").pop()!;
  await $`tar -xzf ${tgz} --strip-components=2 package/bin/bun.exe`.cwd(work).quiet();
  rmSync(join(work, tgz));
  renameSync(work, dir);
  print(`windows runtime: ${(statSync(exe).size / 1e6).toFixed(0)} MB in ${since(t0)}`);
  return exe;
}

/** The addon for Windows: CMake with the mingw-w64 toolchain file, ninja, then stripped into WINDOWS_ADDON. */
export async function buildWindowsAddon(root: string, print: (line: string) => void = () => {}): Promise<string> {
  const t0 = performance.now();
  const buildDir = join(root, ADDON_BUILD_DIR);
  const headers = join(root, "node_modules/node-api-headers/include");
  if (!existsSync(join(buildDir, "build.ninja"))) {
    print("windows addon: configuring (cmake, mingw-w64)");
    const generator = Bun.which("ninja") ? ["-G", "Ninja"] : [];
    const cfg =
      await $`cmake ${generator} -S ${join(root, "native")} -B ${buildDir} -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=${join(root, "native/windows/mingw-w64.cmake")} -DCMAKE_JS_INC=${`${headers};${join(root, "node_modules/node-addon-api")}`} -DCMAKE_JS_INC_DIR=${headers}`
        .quiet()
        .nothrow();
    if (cfg.exitCode !== 0) {
      rmSync(buildDir, { recursive: true, force: true });
      throw new Error(`cmake (Windows addon) failed:\n${cfg.stdout}${cfg.stderr}`);
    }
  }
  print("windows addon: compiling (a first build takes a few minutes)");
  const built = await $`cmake --build ${buildDir} --target labdaemon_native`.quiet().nothrow();
  if (built.exitCode !== 0) throw new Error(`the Windows addon did not build:\n${built.stdout}${built.stderr}`);
  const out = join(root, WINDOWS_ADDON);
  mkdirSync(join(root, "build/windows/Release"), { recursive: true });
  // Symbols make it 2–3× larger and are of no use inside the executable.
  await $`x86_64-w64-mingw32-strip -o ${out}.tmp ${join(buildDir, "labdaemon_native.node")}`.quiet();
  renameSync(`${out}.tmp`, out);
  print(`windows addon: ${(statSync(out).size / 1e3).toFixed(0)} kB in ${since(t0)}`);
  return out;
}

async function compileWindowsExecutable(root: string, runtime: string, print: (line: string) => void): Promise<string> {
  const t0 = performance.now();
  const outfile = join(root, WINDOWS_OUTFILE);
  const tmp = join(root, `dist/labdaemon.${process.pid}.tmp.exe`);
  mkdirSync(join(root, "dist"), { recursive: true });
  const entrypoints = [join(root, "src/cli/windowsEntry.ts"), ...WORKER_ENTRIES.map((w) => join(root, w))];
  print(`${WINDOWS_OUTFILE}: compiling (Bun.build, compile target bun-windows-x64)`);
  // The same choices as the Linux executable (tools/compile.ts says why each), through Bun.build for
  // its plugin: see fileUrlForWindows.
  const build = (bytecode: boolean) =>
    Bun.build({
      entrypoints,
      root: join(root, "src"),
      compile: { target: "bun-windows-x64", executablePath: runtime, outfile: tmp, autoloadBunfig: false },
      minify: true,
      sourcemap: "linked",
      bytecode,
      plugins: [fileUrlForWindows],
      throw: false,
    });
  let result = await build(true);
  // As on Linux: a module with top-level await cannot be bytecode; it still runs, only starts slower.
  if (!result.success && result.logs.some((l) => /"await" can only be used/.test(String(l))))
    result = await build(false);
  if (!result.success) {
    rmSync(tmp, { force: true });
    throw new Error(`Bun.build (Windows executable) failed:\n${result.logs.map(String).join("\n")}`);
  }
  renameSync(tmp, outfile);
  if (existsSync(`${tmp}.map`)) renameSync(`${tmp}.map`, `${outfile}.map`);
  print(`${WINDOWS_OUTFILE}: ${(statSync(outfile).size / 1e6).toFixed(1)} MB in ${since(t0)}`);
  return outfile;
}

/**
 * Bun fixes import.meta.url at build time to the build machine's path (file:///work/…), and h5wasm's
 * loader hands it to fileURLToPath, which on Windows refuses a file URL without a drive letter. h5wasm
 * only takes a folder name from it (its wasm is inlined), so any Windows path will do.
 */
const fileUrlForWindows: import("bun").BunPlugin = {
  name: "labdaemon-windows-file-url",
  setup(b) {
    b.onLoad({ filter: /h5wasm[\\/]dist[\\/]node[\\/]hdf5_util\.js$/ }, async (args) => ({
      contents: (await Bun.file(args.path).text()).replaceAll(
        "import.meta.url",
        JSON.stringify("file:///B:/~BUN/root/hdf5_util.js"),
      ),
      loader: "js",
    }));
  },
};

function since(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
