// The launcher as a process: SIGTERM leaves no server behind; after a SIGKILL its servers keep running
// and the next launcher offers to adopt or stop them, without ever signalling a PID it cannot prove.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { startLauncher } from "../../src/launcher/index.ts";
import { startTicks } from "../../src/launcher/procInfo.ts";
import { RunDir, type RunRecord } from "../../src/launcher/runDir.ts";
import { call, labDir, orphanedServer, profileIn, procExists, spawnLauncher, removeLabDirs } from "./support.ts";

afterAll(removeLabDirs);

describe("launcher lifecycle", () => {
  test("SIGTERM stops every server it started: no child process is left in /proc", async () => {
    const lab = labDir();
    const l = await spawnLauncher(lab);
    try {
      for (const name of ["alpha", "beta"])
        expect((await call(l.base, l.token, "POST", `/api/profiles/${name}/start`)).status).toBe(202);
      const pids = [
        (await profileIn(l.base, l.token, "alpha", "healthy")).pid,
        (await profileIn(l.base, l.token, "beta", "healthy")).pid,
      ];
      expect(pids.every(procExists)).toBe(true);
      l.proc.kill("SIGTERM");
      expect(await l.proc.exited).toBe(0);
      for (const pid of pids) expect(procExists(pid)).toBe(false);
      expect(new RunDir(lab.runDir).list()).toEqual([]);
      expect(l.stderr()).toContain("stopped");
    } finally {
      l.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("Ctrl-C (SIGINT to the launcher's whole process group) stops its servers through the launcher and spares one kept running", async () => {
    const lab = labDir();
    const l = await spawnLauncher(lab, { ownGroup: true });
    let kept = 0;
    try {
      await call(l.base, l.token, "POST", "/api/profiles/alpha/start");
      await call(l.base, l.token, "POST", "/api/profiles/beta/start", { keep_running: true });
      const stopped = (await profileIn(l.base, l.token, "alpha", "healthy")).pid;
      kept = (await profileIn(l.base, l.token, "beta", "healthy")).pid;
      process.kill(-l.proc.pid, "SIGINT");
      expect(await l.proc.exited).toBe(0);
      expect(procExists(stopped)).toBe(false);
      // Its servers are not in the launcher's group: the terminal's Ctrl-C never reached the kept one.
      expect(procExists(kept)).toBe(true);
      expect(l.stderr()).toContain("SIGINT");
      expect(l.stderr()).toContain("left running: beta");
      expect(new RunDir(lab.runDir).list().map((r) => r.pid)).toEqual([kept]);
    } finally {
      l.proc.kill("SIGKILL");
      if (kept && procExists(kept)) process.kill(kept, "SIGTERM");
    }
  }, 60_000);

  test("after a SIGKILL the server keeps running and the next launcher adopts it; stale and reused-PID records are never signalled", async () => {
    const lab = labDir();
    const orphanPid = await orphanedServer(lab, "alpha");
    expect(procExists(orphanPid)).toBe(true);

    // Two records that must not be acted on: one whose process ended, one whose PID now belongs to
    // another process (this test runner, with another start time).
    const runDir = new RunDir(lab.runDir);
    const ended = Bun.spawnSync(["true"]).pid;
    const base: Omit<RunRecord, "id" | "pid" | "start_ticks"> = {
      profile: "beta",
      config: lab.config,
      host: "127.0.0.1",
      port: 5999,
      started_at: new Date(0).toISOString(),
      keep_running: false,
      log_file: runDir.logPath("x"),
      launcher_pid: 999_999_999,
      launcher_start_ticks: "1",
    };
    runDir.write({ ...base, id: "gone-1", pid: ended, start_ticks: "12345" });
    runDir.write({
      ...base,
      id: "reused-1",
      pid: process.pid,
      start_ticks: String(Number(startTicks(process.pid)) + 1),
    });

    const secret = "second-launcher";
    const second = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const url = second.http.url;
    try {
      const { body } = await call(url, secret, "GET", "/api/orphans");
      const byId = Object.fromEntries(body.orphans.map((o: any) => [o.id, o]));
      const alive = body.orphans.find((o: any) => o.pid === orphanPid);
      expect(alive).toMatchObject({ profile: "alpha", status: "running", adoptable: true });
      expect(byId["gone-1"]).toMatchObject({ status: "stale", adoptable: false });
      expect(byId["gone-1"].reason).toContain("ended");
      expect(byId["reused-1"]).toMatchObject({ status: "stale", adoptable: false });
      expect(byId["reused-1"].reason).toContain("another process");

      const refused = await call(url, secret, "POST", "/api/orphans/reused-1/stop");
      expect(refused.status).toBe(409);
      expect(refused.body.error.type).toBe("NotProven");
      expect((await call(url, secret, "POST", "/api/orphans/reused-1/adopt")).status).toBe(409);
      expect((await call(url, secret, "DELETE", `/api/orphans/${alive.id}`)).body.error.type).toBe("StillRunning");

      const adopted = await call(url, secret, "POST", `/api/orphans/${alive.id}/adopt`);
      expect(adopted.status).toBe(200);
      expect(adopted.body).toMatchObject({ name: "alpha", pid: orphanPid, adopted: true });
      const healthy = await profileIn(url, secret, "alpha", "healthy");
      expect(healthy.pid).toBe(orphanPid);
      // Its earlier output is still there: the server wrote it to its log file, not to the dead launcher.
      expect(second.supervisor.logsOf("alpha").tail(50).join("\n")).toContain("labdaemon serving");

      for (const id of ["gone-1", "reused-1"])
        expect((await call(url, secret, "DELETE", `/api/orphans/${id}`)).status).toBe(200);
      expect((await call(url, secret, "GET", "/api/orphans")).body.orphans).toEqual([]);
      expect(runDir.list().map((r) => r.pid)).toEqual([orphanPid]);

      expect((await call(url, secret, "POST", "/api/profiles/alpha/stop")).body.state).toBe("stopped");
      expect(procExists(orphanPid)).toBe(false);
      expect(runDir.list()).toEqual([]);
    } finally {
      await second.quit();
      if (procExists(orphanPid)) process.kill(orphanPid, "SIGKILL");
    }
  }, 60_000);

  test("where there are no signals (Windows), Stop asks through the server's stop file: it shuts down as on SIGTERM, exit 0, not killed", async () => {
    const lab = labDir();
    const l = await startLauncher({
      configFlag: lab.config,
      port: 0,
      cwd: lab.dir,
      secret: "s",
      runDir: lab.runDir,
      stopBy: "file",
    });
    try {
      expect((await call(l.http.url, "s", "POST", "/api/profiles/alpha/start")).status).toBe(202);
      const { pid } = await profileIn(l.http.url, "s", "alpha", "healthy");
      const stopped = await call(l.http.url, "s", "POST", "/api/profiles/alpha/stop");
      expect(stopped.body).toMatchObject({ state: "stopped", exit_code: 0 });
      expect(procExists(pid)).toBe(false);
      const log = l.supervisor.logsOf("alpha").tail(100).join("\n");
      expect(log).toContain("stopping (stop file");
      expect(log).toContain("SIGTERM, shutting down"); // the server's own graceful path
      expect(log).toContain("laser1 disconnected");
      expect(log).not.toContain("no exit within");
      expect(readdirSync(lab.runDir).filter((f) => !f.startsWith("."))).toEqual([]); // record, log and stop file gone
    } finally {
      await l.quit();
    }
  }, 60_000);

  test("an orphan can be stopped instead of adopted", async () => {
    const lab = labDir();
    const pid = await orphanedServer(lab, "beta");
    const second = await startLauncher({
      configFlag: lab.config,
      port: 0,
      cwd: lab.dir,
      secret: "s",
      runDir: lab.runDir,
    });
    try {
      const [orphan] = (await call(second.http.url, "s", "GET", "/api/orphans")).body.orphans;
      expect(orphan.pid).toBe(pid);
      expect((await call(second.http.url, "s", "POST", `/api/orphans/${orphan.id}/stop`)).status).toBe(200);
      expect(procExists(pid)).toBe(false);
      expect(new RunDir(lab.runDir).list()).toEqual([]);
    } finally {
      await second.quit();
      if (procExists(pid)) process.kill(pid, "SIGKILL");
    }
  }, 60_000);

  test("with no configuration the launcher says where it looked and creates one from the template", async () => {
    const lab = labDir({});
    const l = await startLauncher({ port: 0, cwd: lab.dir, home: `${lab.dir}/home`, secret: "s", runDir: lab.runDir });
    try {
      const cfg = (await call(l.http.url, "s", "GET", "/api/config")).body;
      expect(cfg.exists).toBe(false);
      expect(cfg.searched).toContain(`${lab.dir}/lab_servers.yaml`);
      expect(cfg.searched).toContain(`${lab.dir}/home/.labdaemon/lab_servers.yaml`);
      expect((await call(l.http.url, "s", "GET", "/api/profiles")).body.profiles).toEqual([]);
      expect((await call(l.http.url, "s", "POST", "/api/config", { path: "sub/none.yaml" })).status).toBe(400);
      expect((await call(l.http.url, "s", "POST", "/api/config", { path: "lab.txt" })).status).toBe(400);
      const created = await call(l.http.url, "s", "POST", "/api/config", { path: "lab_servers.yaml" });
      expect(created.status).toBe(201);
      expect(created.body.file).toBe(`${lab.dir}/lab_servers.yaml`);
      expect(existsSync(`${lab.dir}/lab_servers.yaml`)).toBe(true);
      const names = (await call(l.http.url, "s", "GET", "/api/profiles")).body.profiles.map((p: any) => p.name);
      expect(names).toEqual(["optics-sim", "daq-sim"]);
      expect((await call(l.http.url, "s", "POST", "/api/config", { path: "other.yaml" })).status).toBe(409);
    } finally {
      await l.quit();
    }
  });
});
