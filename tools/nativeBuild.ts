// The native addon: cmake-js configures native/ into a build directory, ninja rebuilds what changed;
// with `bench`, the benchmark addon (labdaemon_bench.node, never shipped) too.
// A first build takes minutes: the build says which stage it is in, condenses the compiler's progress to
// one line a step ("[12/40] compiling native/io/session.cc") and how long each stage took.
// A build directory copied with the repository (cp -r) still belongs to the original: its CMakeCache.txt
// and build.ninja name the original's paths, so CMake regenerates the original's files while the copy's
// build.ninja stays dirty ("still dirty after 100 tries"). Such a directory is started afresh.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { plural } from "../src/cli/plural.ts";

/** How much of a failed build's output the error shows; the whole of it goes to LOG_FILE. */
const SHOWN_LINES = 20;
const LAST_LINES = 2;
const LOG_FILE = "cmake-js.log";
/** native/CMakeLists.txt's benchmark addon, left out of a default build. */
const BENCH_TARGET = "labdaemon_bench";

/** The native build failed; the message holds the telling part of its output and where the rest is. */
export class NativeBuildError extends Error {
  override name = "NativeBuildError";
}

export interface NativeBuildOptions {
  /** The CMake project (default ROOT/native). */
  sourceDir?: string;
  /** Where CMake builds (default ROOT/build, whose Release/ the executable embeds). */
  buildDir?: string;
  /** No progress lines, nor the line about a build directory started afresh. */
  quiet?: boolean;
  /** Where progress lines go (default stdout). */
  print?: (line: string) => void;
  /** Also build the benchmark addon, build/Release/labdaemon_bench.node. */
  bench?: boolean;
}

export async function buildNative(root: string, opts: NativeBuildOptions = {}): Promise<void> {
  const sourceDir = resolve(root, opts.sourceDir ?? "native");
  const buildDir = resolve(root, opts.buildDir ?? "build");
  const print = opts.quiet ? () => {} : (opts.print ?? ((line: string) => console.log(line)));
  const foreign = foreignCache(buildDir, sourceDir);
  if (foreign) {
    const shown = buildDir.startsWith(root + sep) ? relative(root, buildDir) : buildDir;
    print(`${shown}/CMakeCache.txt was made for ${foreign}: starting from a clean build directory`);
    rmSync(buildDir, { recursive: true, force: true });
  }
  // cmake-js + ninja rebuild only what changed; a no-op build takes well under a second.
  const build = (extra: string[], what: string) =>
    cmakeJsBuild(root, sourceDir, buildDir, extra, new BuildProgress(relative(root, sourceDir) || ".", print, what));
  await build([], "native addon");
  if (opts.bench) await build(["--target", BENCH_TARGET], "bench addon");
}

async function cmakeJsBuild(
  root: string,
  sourceDir: string,
  buildDir: string,
  extra: string[],
  progress: BuildProgress,
): Promise<void> {
  const proc = Bun.spawn(
    [join(root, "node_modules/.bin/cmake-js"), "build", "--directory", sourceDir, "--out", buildDir, ...extra],
    { cwd: root, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  const lines: string[] = [];
  const take = (line: string) => {
    lines.push(line);
    progress.line(line);
  };
  await Promise.all([eachLine(proc.stdout, take), eachLine(proc.stderr, take)]);
  const exitCode = await proc.exited;
  progress.end(exitCode === 0);
  if (exitCode === 0) return;
  const output = lines.join("\n");
  mkdirSync(buildDir, { recursive: true });
  const log = join(buildDir, LOG_FILE);
  writeFileSync(log, output);
  throw new NativeBuildError(
    `native build failed (cmake-js exit ${exitCode}; full output in ${log}):\n${tellingLines(output)}`,
  );
}

async function eachLine(stream: ReadableStream<Uint8Array>, fn: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop()!;
    for (const p of parts) fn(p.replace(/\r$/, ""));
  }
  if (rest !== "") fn(rest);
}

/** ninja's "[3/42] Building CXX object CMakeFiles/ld_core.dir/io/session.cc.o", make's "[ 12%] Building …". */
const STEP = /^\[\s*(\d+(?:\/\d+|%))\]\s+(.*)$/;

/**
 * Turns cmake-js's output into stage lines: "native addon: configuring (cmake)", one line a compile
 * step, and each stage's duration. A build with nothing to do says so in one line.
 */
export class BuildProgress {
  private readonly started = performance.now();
  private stageStarted = this.started;
  private stage: "checking" | "configuring" | "compiling" = "checking";
  private steps = 0;

  constructor(
    private readonly sourceDir: string,
    private readonly print: (line: string) => void,
    /** What the stage lines name: "native addon", "bench addon". */
    private readonly what = "native addon",
  ) {}

  line(text: string): void {
    if (text.startsWith("-- ") && this.stage === "checking") {
      this.stage = "configuring";
      this.stageStarted = performance.now();
      this.print(`${this.what}: configuring (cmake)`);
    } else if (text.startsWith("-- Build files have been written") && this.stage === "configuring") {
      this.print(`${this.what}: configured in ${this.since(this.stageStarted)}`);
      this.stage = "checking";
    }
    const step = STEP.exec(text);
    if (!step || step[1]!.startsWith("0/")) return; // "[0/2] Re-checking globbed directories" is ninja's own
    if (this.stage !== "compiling") {
      this.stage = "compiling";
      this.stageStarted = performance.now();
      this.print(`${this.what}: compiling (a first build takes a few minutes)`);
    }
    this.steps++;
    this.print(`[${step[1]}] ${this.describe(step[2]!)}`);
  }

  end(ok: boolean): void {
    if (!ok) return; // the error says what failed
    if (this.stage === "compiling")
      this.print(
        `${this.what}: compiled ${this.steps} step${this.steps === 1 ? "" : "s"} in ${this.since(this.stageStarted)} (total ${this.since(this.started)})`,
      );
    else this.print(`${this.what}: up to date (${this.since(this.started)})`);
  }

  /** "Building CXX object CMakeFiles/x.dir/io/session.cc.o" → "compiling native/io/session.cc". */
  private describe(what: string): string {
    const compiled = /^Building \w+ object \S*?\.dir\/(\S+?)\.o$/.exec(what);
    if (compiled) return `compiling ${this.sourceDir}/${compiled[1]}`;
    const linked = /^Linking \w+ (?:shared |static )?(?:library|executable|module) (\S+)$/.exec(what);
    if (linked) return `linking ${linked[1]}`;
    return what;
  }

  private since(t0: number): string {
    return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  }
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
  return [
    ...lines.slice(from, from + SHOWN_LINES),
    `… ${plural(cut, "line")} left out …`,
    ...lines.slice(-LAST_LINES),
  ].join("\n");
}
