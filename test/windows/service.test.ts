// labdaemon.exe as a Windows service under wine (`npm run test:windows`): `service install` registers it
// with the Service Control Manager, `sc.exe start` brings the server up (its start-up line in the log
// file, /health on loopback), `sc.exe stop` ends the process with exit code 0, `service uninstall`
// deletes it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { keepWineUp, linuxPath, prepare, runExe, runWine, SCRATCH, shutDownWine, wineMissing } from "./wine.ts";

const WINE_MS = 180_000;
const NAME = "labdaemon-winetest";
const missing = wineMissing();

/** `sc.exe query NAME` as {state, exitCode}, or null when there is no such service. */
async function query(): Promise<{ state: string; exitCode: number } | null> {
  const r = await runWine(["sc.exe", "query", NAME]);
  const state = /STATE\s*:\s*\d+\s+(\w+)/.exec(r.stdout)?.[1];
  const exitCode = /WIN32_EXIT_CODE\s*:\s*(\d+)/.exec(r.stdout)?.[1];
  return state && exitCode ? { state, exitCode: Number(exitCode) } : null;
}

/** Asks again as soon as each answer is in (every sc.exe run takes wine a moment) until `done` holds. */
async function untilQuery(done: (q: Awaited<ReturnType<typeof query>>) => boolean, what: string, ms: number) {
  const deadline = performance.now() + ms;
  let q = await query();
  while (!done(q)) {
    if (performance.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(q)} after ${ms} ms`);
    q = await query();
  }
  return q;
}

/** Resolves with the first match of `re` in `file`, checked again whenever its folder changes. */
function lineIn(file: string, re: RegExp, ms: number): Promise<RegExpExecArray> {
  mkdirSync(dirname(file), { recursive: true });
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = existsSync(file) ? re.exec(readFileSync(file, "utf8")) : null;
      if (!m) return;
      finish();
      resolve(m);
    };
    const watcher = watch(dirname(file), check);
    const guard = setTimeout(() => {
      finish();
      reject(new Error(`no ${re} in ${file} within ${ms} ms:\n${existsSync(file) ? readFileSync(file, "utf8") : ""}`));
    }, ms);
    const finish = () => {
      watcher.close();
      clearTimeout(guard);
    };
    check();
  });
}

/** The Linux pid wine runs the service's process as (its command line is the Windows one). */
function servicePid(): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.includes("--windows-service") && args.includes(NAME)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Whether `pid` still runs (a zombie waiting to be reaped has ended). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe.skipIf(process.env.LABDAEMON_TEST_WINDOWS !== "1" || missing !== null)("labdaemon.exe as a service", () => {
  const folder = join(SCRATCH, "service");
  beforeAll(async () => {
    await prepare();
    await keepWineUp();
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    // Port 0: the log file's start-up line says which port it got.
    writeFileSync(
      join(folder, "lab_servers.json"),
      JSON.stringify({ name: "wine service", port: 0, devices: { laser1: { type: "SimLaser", connect: true } } }),
    );
  }, WINE_MS);
  afterAll(async () => {
    await runWine(["sc.exe", "stop", NAME]);
    await runWine(["sc.exe", "delete", NAME]);
    await shutDownWine();
  }, WINE_MS);

  test(
    "service install, sc.exe start serves /health, sc.exe stop ends the process with exit code 0, uninstall",
    async () => {
      // A relative --config: the service starts in C:\Windows\System32, so install must make it absolute.
      const installed = await runExe(["service", "install", "--config", "service\\lab_servers.json", "--name", NAME]);
      expect(installed.stderr).toBe("");
      expect(installed.exitCode).toBe(0);
      const logFile = linuxPath(/\(log: ([^)]+)\)/.exec(installed.stdout)![1]!);
      rmSync(logFile, { force: true });
      // 1077: ERROR_SERVICE_NEVER_STARTED.
      expect(await query()).toEqual({ state: "STOPPED", exitCode: 1077 });

      const started = await runWine(["sc.exe", "start", NAME]);
      expect(started.exitCode).toBe(0);
      const serving = await lineIn(
        logFile,
        /serving 'wine service' from .*: 1 device on (http:\/\/127\.0\.0\.1:\d+)/,
        120_000,
      );
      const health = await fetch(`${serving[1]}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe("healthy");
      expect((await untilQuery((q) => q?.state !== "START_PENDING", "start", 60_000))?.state).toBe("RUNNING");
      const pid = servicePid();
      expect(pid).not.toBeNull();

      const stopped = await runWine(["sc.exe", "stop", NAME]);
      expect(stopped.exitCode).toBe(0);
      expect(await untilQuery((q) => q?.state === "STOPPED", "stop", 60_000)).toEqual({
        state: "STOPPED",
        exitCode: 0,
      });
      await lineIn(logFile, /shutting down/, 10_000);
      expect(await fetch(`${serving[1]}/health`).catch((e: Error) => e)).toBeInstanceOf(Error);

      const uninstalled = await runExe(["service", "uninstall", "--name", NAME]);
      expect(uninstalled.exitCode).toBe(0);
      expect(uninstalled.stdout).toContain(`removed the Windows service ${NAME}`);
      expect(await query()).toBeNull();
      // The process is gone, not merely stopped in the SCM's books.
      expect(running(pid!)).toBe(false);
    },
    WINE_MS * 2,
  );
});
