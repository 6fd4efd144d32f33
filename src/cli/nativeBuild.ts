// The native addon: cmake-js configures native/ into a build directory, ninja rebuilds what changed.
// A build directory copied with the repository (cp -r) still belongs to the original: its CMakeCache.txt
// and build.ninja name the original's paths, so CMake regenerates the original's files while the copy's
// build.ninja stays dirty ("still dirty after 100 tries"). Such a directory is started afresh.
import { $ } from "bun";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { plural } from "./plural.ts";

/** How much of a failed build's output the error shows; the whole of it goes to LOG_FILE. */
const SHOWN_LINES = 20;
const LAST_LINES = 2;
const LOG_FILE = "cmake-js.log";

/** The native build failed; the message holds the telling part of its output and where the rest is. */
export class NativeBuildError extends Error {
  override name = "NativeBuildError";
}

export interface NativeBuildOptions {
  /** The CMake project (default ROOT/native). */
  sourceDir?: string;
  /** Where CMake builds (default ROOT/build, whose Release/ the executable embeds). */
  buildDir?: string;
  /** No line about a build directory started afresh. */
  quiet?: boolean;
}

export async function buildNative(root: string, opts: NativeBuildOptions = {}): Promise<void> {
  const sourceDir = resolve(root, opts.sourceDir ?? "native");
  const buildDir = resolve(root, opts.buildDir ?? "build");
  const foreign = foreignCache(buildDir, sourceDir);
  if (foreign) {
    const shown = buildDir.startsWith(root + sep) ? relative(root, buildDir) : buildDir;
    if (!opts.quiet) console.log(`${shown}/CMakeCache.txt was made for ${foreign}: starting from a clean build directory`);
    rmSync(buildDir, { recursive: true, force: true });
  }
  // cmake-js + ninja rebuild only what changed; a no-op build takes well under a second.
  const result = await $`${join(root, "node_modules/.bin/cmake-js")} build --directory ${sourceDir} --out ${buildDir} 2>&1`.cwd(root).quiet().nothrow();
  if (result.exitCode === 0) return;
  const output = result.stdout.toString();
  mkdirSync(buildDir, { recursive: true });
  const log = join(buildDir, LOG_FILE);
  writeFileSync(log, output);
  throw new NativeBuildError(`native build failed (cmake-js exit ${result.exitCode}; full output in ${log}):\n${tellingLines(output)}`);
}

/**
 * What a CMakeCache.txt in `buildDir` was made for, when that is another build or source directory;
 * null when there is none or it is this one's.
 */
export function foreignCache(buildDir: string, sourceDir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(buildDir, "CMakeCache.txt"), "utf8");
  } catch {
    return null;
  }
  const entry = (key: string) => new RegExp(`^${key}:[A-Z]+=(.*)$`, "m").exec(text)?.[1]?.trim();
  const cacheDir = entry("CMAKE_CACHEFILE_DIR");
  const homeDir = entry("CMAKE_HOME_DIRECTORY");
  if (cacheDir === undefined) return "an unknown build directory (no CMAKE_CACHEFILE_DIR)";
  if (!samePath(cacheDir, buildDir)) return cacheDir;
  if (homeDir !== undefined && !samePath(homeDir, sourceDir)) return `the sources in ${homeDir}`;
  return null;
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

/**
 * From the first error on (a compiler's or CMake's), else the end, and the very last lines: a build that
 * loops prints the same CMake log a hundred times; the first error says why, the last how it ended.
 */
export function tellingLines(output: string): string {
  const lines = output.trimEnd().split("\n");
  const first = lines.findIndex((l) => /^FAILED:|CMake Error|\berror\b/i.test(l));
  const from = first >= 0 ? first : Math.max(0, lines.length - SHOWN_LINES);
  if (lines.length - from <= SHOWN_LINES + LAST_LINES + 1) return lines.slice(from).join("\n");
  const cut = lines.length - from - SHOWN_LINES - LAST_LINES;
  return [...lines.slice(from, from + SHOWN_LINES), `… ${plural(cut, "line")} left out …`, ...lines.slice(-LAST_LINES)].join("\n");
}
