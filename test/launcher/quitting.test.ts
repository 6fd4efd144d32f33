// Quitting the launcher leaves no server it runs behind: starts and adoptions that arrive while it quits
// are refused (503 Quitting), and a start already under way when the quit began is refused too.
import { afterAll, describe, expect, test } from "bun:test";
import { startLauncher } from "../../src/launcher/index.ts";
import { RunDir } from "../../src/launcher/runDir.ts";
import { call, labDir, profileIn, procExists, removeLabDirs, spawnLauncher } from "./support.ts";

afterAll(removeLabDirs);

describe("quitting", () => {
  test("a start or an adoption asked for while the launcher quits is refused with 503 Quitting; nothing is left running", async () => {
    const lab = labDir();
    const secret = "quit-secret";
    const l = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret, runDir: lab.runDir });
    const base = l.http.url;
    let alpha = 0;
    try {
      await call(base, secret, "POST", "/api/profiles/alpha/start");
      alpha = (await profileIn(base, secret, "alpha", "healthy")).pid;
      // One start already past its checks when the quit begins (it awaits the port check) …
      const inFlight = l.supervisor.start("beta").then(
        () => null,
        (e) => e,
      );
      const quitting = l.quit();
      // … and one over the API while alpha is still being stopped.
      const late = await call(base, secret, "POST", "/api/profiles/beta/start");
      expect(late.status).toBe(503);
      expect(late.body.error.type).toBe("Quitting");
      const adopt = await call(base, secret, "POST", "/api/orphans/none/adopt");
      expect(adopt.status).toBe(503);
      expect(adopt.body.error.type).toBe("Quitting");
      expect((await inFlight)?.type).toBe("Quitting");
      expect(await quitting).toEqual({ stopped: ["alpha"], kept: [] });
      expect(await l.done).toEqual({ stopped: ["alpha"], kept: [] });
      expect(procExists(alpha)).toBe(false);
      expect(l.supervisor.view("beta").state).toBe("stopped");
      expect(new RunDir(lab.runDir).list()).toEqual([]);
    } finally {
      await l.quit();
      for (const r of new RunDir(lab.runDir).list()) if (procExists(r.pid)) process.kill(r.pid, "SIGKILL");
    }
  }, 30_000);
});

describe("signals", () => {
  test("SIGHUP (its terminal closed) stops every server it started, as SIGTERM does, and exits 0", async () => {
    const lab = labDir();
    const l = await spawnLauncher(lab);
    let pid = 0;
    try {
      await call(l.base, l.token, "POST", "/api/profiles/alpha/start");
      pid = (await profileIn(l.base, l.token, "alpha", "healthy")).pid;
      l.proc.kill("SIGHUP");
      expect(await l.proc.exited).toBe(0);
      expect(procExists(pid)).toBe(false);
      expect(new RunDir(lab.runDir).list()).toEqual([]);
      expect(l.stderr()).toContain("SIGHUP, stopping the servers it started");
    } finally {
      l.proc.kill("SIGKILL");
      if (pid && procExists(pid)) process.kill(pid, "SIGKILL");
    }
  }, 30_000);
});
