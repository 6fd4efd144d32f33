// `bun build.ts` in a copy of the repository (cp -r): the copied build directory belongs to the original.
// The copies here hold build.ts, tools/ (and src/cli/plural.ts, which it uses) and a one-file CMake
// project in place of native/, so a build takes a second, and they reproduce the loop ("manifest
// 'build.ninja' still dirty after 100 tries") that rewrote the original's build directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { foreignCache, tellingLines } from "../../tools/nativeBuild.ts";

const ROOT = resolve(import.meta.dir, "../..");
/**
 * A hang guard: a build of the one-file project takes about a second, but cmake and the compiler take
 * tens of seconds on a loaded machine. The loop the fix ends is recognised by the output, not by time.
 */
const BUILD_MS = 120_000;
/** What a build with nothing to do prints. */
const UP_TO_DATE = /^native addon: up to date \(\d+\.\d s\)\n$/;
const canBuild = Bun.which("cmake") !== null && (Bun.which("c++") ?? Bun.which("g++")) !== null;

const dir = mkdtempSync(join(tmpdir(), "ld-nbuild-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tree with what `bun build.ts` needs, and a CMake project that globs its sources as native/'s does. */
function tree(name: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, "native"), { recursive: true });
  writeFileSync(join(root, "build.ts"), readFileSync(join(ROOT, "build.ts")));
  mkdirSync(join(root, "src/cli"), { recursive: true });
  writeFileSync(join(root, "src/cli/plural.ts"), readFileSync(join(ROOT, "src/cli/plural.ts")));
  cpSync(join(ROOT, "tools"), join(root, "tools"), { recursive: true });
  writeFileSync(join(root, "native/package.json"), readFileSync(join(ROOT, "native/package.json")));
  writeFileSync(
    join(root, "native/CMakeLists.txt"),
    [
      "cmake_minimum_required(VERSION 3.15)",
      "project(tiny CXX)",
      "file(GLOB SOURCES CONFIGURE_DEPENDS *.cc)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CMake variable, not a template
      "add_library(tiny SHARED ${SOURCES})",
    ].join("\n"),
  );
  writeFileSync(join(root, "native/tiny.cc"), "int tiny() { return 1; }\n");
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return root;
}

async function build(
  root: string,
  args: string[] = ["--native"],
  env?: Record<string, string | undefined>,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "build.ts", ...args], {
    cwd: root,
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

/** Every file under `path` with its size and modification time. */
function snapshot(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (p: string) => {
    for (const name of readdirSync(p)) {
      const f = join(p, name);
      const st = statSync(f);
      if (st.isDirectory()) visit(f);
      else out[f] = `${st.size} ${st.mtimeMs}`;
    }
  };
  visit(path);
  return out;
}

function setTimes(path: string, seconds: number): void {
  for (const name of readdirSync(path)) {
    const f = join(path, name);
    if (statSync(f).isDirectory()) setTimes(f, seconds);
    else utimesSync(f, seconds, seconds);
  }
}

describe.skipIf(!canBuild)("bun build.ts in a copy of the repository", () => {
  let original: string;
  let copy: string;
  beforeAll(async () => {
    original = tree("original");
    const first = await build(original);
    expect(first).toMatchObject({ exitCode: 0, stderr: "" });
    copy = join(dir, "copy");
    expect(Bun.spawnSync(["cp", "-r", original, copy]).exitCode).toBe(0);
    // The original rebuilt since the copy was made: the copy's build.ninja, which names the original's
    // files, is older than they are, so ninja asks CMake to regenerate it.
    setTimes(join(copy, "build"), Date.now() / 1000 - 3600);
  }, BUILD_MS);

  test(
    "starts a copied build directory afresh, says so in one line and leaves the original's alone",
    async () => {
      const before = snapshot(join(original, "build"));
      const r = await build(copy);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toStartWith(
        `build/CMakeCache.txt was made for ${original}/build: starting from a clean build directory\nnative addon: configuring (cmake)\n`,
      );
      expect(readFileSync(join(copy, "build/CMakeCache.txt"), "utf8")).toContain(
        `CMAKE_CACHEFILE_DIR:INTERNAL=${copy}/build\n`,
      );
      expect(existsSync(join(copy, "build/Release/libtiny.so"))).toBe(true);
      expect(snapshot(join(original, "build"))).toEqual(before);
      expect(await build(copy)).toEqual({ exitCode: 0, stdout: expect.stringMatching(UP_TO_DATE), stderr: "" }); // its own now: nothing to do
    },
    BUILD_MS,
  );

  test(
    "--build-dir with a CMakeCache.txt written for another directory builds there afresh; it needs --native",
    async () => {
      const other = join(dir, "elsewhere-build");
      mkdirSync(other, { recursive: true });
      writeFileSync(
        join(other, "CMakeCache.txt"),
        "CMAKE_CACHEFILE_DIR:INTERNAL=/nowhere/build\nCMAKE_HOME_DIRECTORY:INTERNAL=/nowhere/native\n",
      );
      const r = await build(copy, ["--native", "--build-dir", other]);
      expect(r).toMatchObject({ exitCode: 0, stderr: "" });
      expect(r.stdout).toStartWith(
        `${other}/CMakeCache.txt was made for /nowhere/build: starting from a clean build directory\nnative addon: configuring (cmake)\n`,
      );
      expect(readFileSync(join(other, "CMakeCache.txt"), "utf8")).toContain(`CMAKE_CACHEFILE_DIR:INTERNAL=${other}\n`);
      const usage = await build(copy, ["--build-dir", other]);
      expect(usage.exitCode).toBe(2);
      expect(usage.stderr).toStartWith("build: --build-dir needs --native");
    },
    BUILD_MS,
  );

  test(
    "a failed build shows the first error and where the whole output is, and removes the old executable",
    async () => {
      mkdirSync(join(copy, "dist"), { recursive: true });
      writeFileSync(join(copy, "dist/labdaemon"), "an executable from an earlier build");
      writeFileSync(join(copy, "native/tiny.cc"), "int tiny() { return undeclared_thing; }\n");
      const r = await build(copy, []);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toStartWith(
        `build: native build failed (cmake-js exit 1; full output in ${copy}/build/cmake-js.log):\nFAILED: `,
      );
      expect(r.stderr).toContain("undeclared_thing");
      expect(r.stderr).toEndWith("build: removed dist/labdaemon, which was not built from these sources\n");
      expect(r.stderr.split("\n").length).toBeLessThan(30);
      expect(existsSync(join(copy, "dist/labdaemon"))).toBe(false);
      expect(readFileSync(join(copy, "build/cmake-js.log"), "utf8")).toContain("undeclared_thing");
    },
    BUILD_MS,
  );
});

describe.skipIf(!canBuild)("bun build.ts says what it is doing", () => {
  test(
    "a first build: a line per stage, one line a compile step, and how long each took",
    async () => {
      const root = tree("progress");
      const r = await build(root);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toBe("native addon: configuring (cmake)");
      expect(lines[1]).toMatch(/^native addon: configured in \d+\.\d s$/);
      expect(lines[2]).toBe("native addon: compiling (a first build takes a few minutes)");
      expect(lines.slice(3, -1)).toEqual(["[1/2] compiling native/tiny.cc", "[2/2] linking Release/libtiny.so"]);
      expect(lines.at(-1)).toMatch(/^native addon: compiled 2 steps in \d+\.\d s \(total \d+\.\d s\)$/);
      expect(await build(root)).toEqual({ exitCode: 0, stdout: expect.stringMatching(UP_TO_DATE), stderr: "" });
      writeFileSync(join(root, "native/tiny.cc"), "int tiny() { return 2; }\n");
      const again = await build(root);
      expect(again.stdout).toMatch(
        /^native addon: compiling \(a first build takes a few minutes\)\n\[1\/2\] compiling native\/tiny\.cc\n\[2\/2\] linking Release\/libtiny\.so\nnative addon: compiled 2 steps in /,
      );
    },
    BUILD_MS * 2,
  );

  test(
    "--bench also builds the benchmark addon, which a default build leaves out",
    async () => {
      const root = tree("bench");
      const lists = join(root, "native/CMakeLists.txt");
      writeFileSync(
        lists,
        `${readFileSync(lists, "utf8")}\nadd_library(labdaemon_bench SHARED EXCLUDE_FROM_ALL bench.cc)\n`,
      );
      writeFileSync(join(root, "native/bench.cc"), "int bench() { return 1; }\n");
      const benchLib = join(root, "build/Release/liblabdaemon_bench.so");
      const plain = await build(root);
      expect({ exitCode: plain.exitCode, stderr: plain.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(plain.stdout).not.toContain("bench addon");
      expect(existsSync(benchLib)).toBe(false);
      const bench = await build(root, ["--native", "--bench"]);
      expect({ exitCode: bench.exitCode, stderr: bench.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(bench.stdout).toMatch(
        /^native addon: up to date \(\d+\.\d s\)\nbench addon: compiling .*\n\[1\/2\] compiling native\/bench\.cc\n/,
      );
      expect(bench.stdout).toMatch(/\nbench addon: compiled 2 steps in \d+\.\d s \(total \d+\.\d s\)\n$/);
      expect(existsSync(benchLib)).toBe(true);
    },
    BUILD_MS * 2,
  );
});

describe("bun build.ts --target windows-x64", () => {
  // PATH without the mingw-w64 tools: a flag check that let the build start fails at once instead of
  // fetching the Windows runtime.
  const noTools = { ...process.env, PATH: "/nonexistent" };

  test("refuses the flags of a Linux build it would leave out: --native, --bench, --build-dir", async () => {
    const root = tree("target");
    for (const flags of [["--native"], ["--bench"], ["--native", "--build-dir", join(dir, "x")]]) {
      const r = await build(root, ["--target", "windows-x64", ...flags], noTools);
      expect({ flags, exitCode: r.exitCode }).toEqual({ flags, exitCode: 2 });
      expect(r.stderr).toStartWith(
        "build: --target windows-x64 builds the whole executable: it takes no --native, --bench or --build-dir\n",
      );
    }
    expect(existsSync(join(root, "build"))).toBe(false);
  });
});

describe("foreignCache", () => {
  const cache = (build: string, home: string) =>
    `# This is the CMakeCache file.\nCMAKE_CACHEFILE_DIR:INTERNAL=${build}\nCMAKE_HOME_DIRECTORY:INTERNAL=${home}\n`;

  test("names the build or source directory a CMakeCache.txt was made for, when it is not this one", () => {
    const build = join(dir, "fc/build");
    const source = join(dir, "fc/native");
    mkdirSync(build, { recursive: true });
    mkdirSync(source, { recursive: true });
    expect(foreignCache(build, source)).toBeNull(); // no cache yet
    writeFileSync(join(build, "CMakeCache.txt"), cache(build, source));
    expect(foreignCache(build, source)).toBeNull();
    symlinkSync(join(dir, "fc"), join(dir, "fc-link"));
    expect(foreignCache(join(dir, "fc-link/build"), join(dir, "fc-link/native"))).toBeNull(); // the same directories by another path
    writeFileSync(join(build, "CMakeCache.txt"), cache("/work/elsewhere/build", source));
    expect(foreignCache(build, source)).toBe("/work/elsewhere/build");
    writeFileSync(join(build, "CMakeCache.txt"), cache(build, "/work/elsewhere/native"));
    expect(foreignCache(build, source)).toBe("the sources in /work/elsewhere/native");
    writeFileSync(join(build, "CMakeCache.txt"), "# truncated\n");
    expect(foreignCache(build, source)).toBe("an unknown build directory (no CMAKE_CACHEFILE_DIR)");
  });
});

describe("tellingLines", () => {
  test("a log repeated a hundred times shrinks to its first error and its last lines", () => {
    const once = [
      "-- Configuring done",
      "CMake Error: The current CMakeCache.txt directory /b/build is different than /a/build",
      "-- Generating done",
    ];
    const log = [
      "INFO CMD BUILD",
      ...Array.from({ length: 100 }, () => once).flat(),
      "ninja: error: manifest 'build.ninja' still dirty after 100 tries",
      "ERROR OMG Process terminated: 1",
    ];
    const lines = tellingLines(log.join("\n")).split("\n");
    expect(lines.length).toBe(23);
    expect(lines[0]).toStartWith("CMake Error: The current CMakeCache.txt directory");
    expect(lines[20]).toBe("… 279 lines left out …");
    expect(lines.slice(-2)).toEqual([
      "ninja: error: manifest 'build.ninja' still dirty after 100 tries",
      "ERROR OMG Process terminated: 1",
    ]);
  });

  test("a short log without an error is shown whole", () => {
    expect(tellingLines("a\nb\nc\n")).toBe("a\nb\nc");
  });
});
