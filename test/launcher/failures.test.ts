// The launcher when the disk or the file system fails it: no server is left running untracked, its own
// timers and log readers go on, and the page can still load and recreate a configuration that is gone.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { startLauncher } from "../../src/launcher/index.ts";
import { call, labDir, orphanedServer, profileIn, procExists, removeLabDirs, waitFor } from "./support.ts";

afterAll(removeLabDirs);

/** PIDs of live `serve` processes started for `config` (whoever started them). */
function servesOf(config: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (argv.includes("serve") && argv.includes(config) && procExists(Number(name))) out.push(Number(name));
  }
  return out;
}

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

describe("failures after a server was spawned", () => {
  test("a run record that cannot be written fails the start with 500 SpawnFailed and leaves no server or log behind", async () => {
    const lab = labDir();
    const secret = "spawn-secret";
    const l = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const base = l.http.url;
    const runDir = l.supervisor.runDir;
    try {
      runDir.write = () => {
        throw enospc();
      };
      const refused = await call(base, secret, "POST", "/api/profiles/alpha/start");
      expect(refused.status).toBe(500);
      expect(refused.body.error.type).toBe("SpawnFailed");
      expect(refused.body.error.message).toContain("ENOSPC");
      delete (runDir as { write?: unknown }).write; // the prototype's again
      await waitFor("the unrecorded server to be gone", async () => servesOf(lab.config).length === 0, 5_000);
      expect(readdirSync(lab.runDir)).toEqual([]);
      expect((await call(base, secret, "GET", "/api/profiles/alpha")).body.state).toBe("stopped");
      // The profile is not stuck: it starts once the disk takes the record.
      expect((await call(base, secret, "POST", "/api/profiles/alpha/start")).status).toBe(202);
      await profileIn(base, secret, "alpha", "healthy");
    } finally {
      await l.quit();
      for (const pid of servesOf(lab.config)) process.kill(pid, "SIGKILL");
    }
  }, 30_000);
});

describe("failures while a server runs", () => {
  test("a record that cannot be updated when the server announces its port stops neither its log nor its health checks", async () => {
    const lab = labDir();
    const secret = "record-secret";
    const l = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const base = l.http.url;
    const runDir = l.supervisor.runDir;
    try {
      expect((await call(base, secret, "POST", "/api/profiles/alpha/start")).status).toBe(202);
      // The start wrote its record; the port's update (when serve prints where it listens) finds the disk full.
      runDir.write = () => {
        throw enospc();
      };
      const healthy = await profileIn(base, secret, "alpha", "healthy", 15_000);
      expect(healthy.port).toBeGreaterThan(0);
      expect(l.supervisor.logsOf("alpha").tail(50).join("\n")).toContain("labdaemon serving");
      delete (runDir as { write?: unknown }).write;
      expect((await call(base, secret, "POST", "/api/profiles/alpha/stop")).body.state).toBe("stopped");
      expect(procExists(healthy.pid)).toBe(false);
    } finally {
      delete (runDir as { write?: unknown }).write;
      await l.quit();
      for (const pid of servesOf(lab.config)) process.kill(pid, "SIGKILL");
    }
  }, 30_000);
});

describe("an adopted server that ends just before it is signalled", () => {
  test("stopping it (from the page, or by quitting) ends in 'stopped', not stuck in 'stopping'; quitting finishes", async () => {
    const lab = labDir();
    const pids = [await orphanedServer(lab, "alpha"), await orphanedServer(lab, "beta")];
    const secret = "adopt-secret";
    const l = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const base = l.http.url;
    // The race, made certain: each server dies at the moment it is signalled, so the signal finds no process.
    const kill = process.kill.bind(process);
    process.kill = ((pid: number, signal?: string | number) => {
      if (!pids.includes(pid) || signal === 0) return kill(pid, signal); // 0: the liveness probe
      kill(pid, "SIGKILL");
      throw Object.assign(new Error(`kill ESRCH`), { code: "ESRCH", errno: -3, syscall: "kill" });
    }) as typeof process.kill;
    try {
      for (const o of (await call(base, secret, "GET", "/api/orphans")).body.orphans)
        expect((await call(base, secret, "POST", `/api/orphans/${o.id}/adopt`)).status).toBe(200);
      const stopped = await call(base, secret, "POST", "/api/profiles/alpha/stop");
      expect(stopped.status).toBe(200);
      expect(stopped.body.state).toBe("stopped");
      expect(await l.quit()).toEqual({ stopped: ["beta"], kept: [] });
      expect(await l.done).toEqual({ stopped: ["beta"], kept: [] });
      expect(l.supervisor.view("beta").state).toBe("stopped");
      await waitFor("both servers to be gone", async () => !pids.some(procExists), 5_000);
      expect(l.supervisor.runDir.list()).toEqual([]);
    } finally {
      process.kill = kill;
      await Promise.race([l.quit(), Bun.sleep(100)]);
      await l.http.server.stop(true);
      for (const pid of pids) if (procExists(pid)) kill(pid, "SIGKILL");
    }
  }, 40_000);
});

describe("a configuration file that went away", () => {
  test("GET /api/config still answers, saying why it cannot be read, and PUT writes the file again", async () => {
    const lab = labDir();
    const secret = "cfg-secret";
    const l = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const base = l.http.url;
    try {
      rmSync(lab.config);
      const gone = await call(base, secret, "GET", "/api/config");
      expect(gone.status).toBe(200);
      expect(gone.body).toMatchObject({ file: lab.config, exists: false, format: "yaml", text: "" });
      expect(gone.body.error.problem).toContain("ENOENT");
      expect((await call(base, secret, "GET", "/api/profiles")).status).toBe(200);
      // A folder where the file was: it exists, but cannot be read as one.
      mkdirSync(lab.config);
      const unreadable = await call(base, secret, "GET", "/api/config");
      expect(unreadable.status).toBe(200);
      expect(unreadable.body).toMatchObject({ exists: true, text: "" });
      expect(unreadable.body.error.problem).toContain("cannot read it");
      rmdirSync(lab.config);
      const text = "configs:\n  solo:\n    port: 0\n    devices: {}\n";
      const saved = await call(base, secret, "PUT", "/api/config", text);
      expect(saved.status).toBe(200);
      expect(saved.body.profiles.map((p: any) => p.name)).toEqual(["solo"]);
      expect(readFileSync(lab.config, "utf8")).toBe(text);
      expect((await call(base, secret, "GET", "/api/config")).body).toMatchObject({ exists: true, text, error: null });
    } finally {
      await l.quit();
    }
  }, 20_000);
});
