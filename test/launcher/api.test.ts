// The launcher's JSON API over its real loopback socket: profiles started as real child servers, their
// health, crashes with exit code and last lines, port conflicts, logs over SSE, and the security checks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { startLauncher, type Launcher } from "../../src/launcher/index.ts";
import { call, labDir, profileIn, procExists, waitFor, type LabDir, removeLabDirs } from "./support.ts";

const SECRET = "test-secret-0123456789";
let lab: LabDir;
let launcher: Launcher;
let base: string;

beforeAll(async () => {
  lab = labDir();
  launcher = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret: SECRET, runDir: lab.runDir });
  base = launcher.http.url;
});

afterAll(async () => {
  await launcher.quit();
  removeLabDirs();
});

describe("launcher API", () => {
  test("GET /api/profiles lists every profile of the configuration, stopped", async () => {
    const { status, body } = await call(base, SECRET, "GET", "/api/profiles");
    expect(status).toBe(200);
    expect(body.profiles.map((p: any) => p.name)).toEqual(["alpha", "beta", "broken"]);
    expect(body.profiles[0]).toMatchObject({
      name: "alpha",
      description: "Laser bench",
      port: 0,
      devices: ["laser1"],
      state: "stopped",
      pid: null,
      healthy: false,
      started_at: null,
      exit_code: null,
    });
    expect(body.config.file).toBe(lab.config);
  });

  test("two profiles run at once, both healthy on their own ports; stopping one ends its process", async () => {
    const a = await call(base, SECRET, "POST", "/api/profiles/alpha/start");
    const b = await call(base, SECRET, "POST", "/api/profiles/beta/start");
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body.state).toBe("starting");
    const alpha = await profileIn(base, SECRET, "alpha", "healthy");
    const beta = await profileIn(base, SECRET, "beta", "healthy");
    expect(alpha.healthy).toBe(true);
    expect(alpha.port).not.toBe(beta.port);
    for (const p of [alpha, beta]) {
      const health = await fetch(`http://127.0.0.1:${p.port}/health`);
      expect(((await health.json()) as { status: string }).status).toBe("healthy");
      expect(procExists(p.pid)).toBe(true);
      expect(typeof p.started_at).toBe("string");
    }
    // The run directory records both.
    const records = launcher.supervisor.runDir.list();
    expect(records.map((r) => r.pid).sort()).toEqual([alpha.pid, beta.pid].sort());

    const again = await call(base, SECRET, "POST", "/api/profiles/alpha/start");
    expect(again.status).toBe(409);
    expect(again.body.error.type).toBe("AlreadyRunning");

    const stopped = await call(base, SECRET, "POST", "/api/profiles/beta/stop");
    expect(stopped.status).toBe(200);
    expect(stopped.body.state).toBe("stopped");
    expect(procExists(beta.pid)).toBe(false);
    expect(launcher.supervisor.runDir.list().map((r) => r.pid)).toEqual([alpha.pid]);
    const notRunning = await call(base, SECRET, "POST", "/api/profiles/beta/stop");
    expect(notRunning.status).toBe(409);
    expect(notRunning.body.error.type).toBe("NotRunning");
  }, 60_000);

  test("a server whose device fails to connect is shown crashed with its exit code and last lines", async () => {
    expect((await call(base, SECRET, "POST", "/api/profiles/broken/start")).status).toBe(202);
    const p = await profileIn(base, SECRET, "broken", "crashed");
    expect(p.exit_code).toBe(1);
    expect(p.pid).toBeNull();
    expect(p.last_lines.join("\n")).toContain("failed to connect");
    expect(p.last_lines.at(-1)).toContain("exited with status 1");
  }, 30_000);

  test("a port already in use is refused before start, naming the process that holds it", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const yaml = `${readFileSync(lab.config, "utf8")}  taken:\n    port: ${holder.port}\n    devices: {}\n`;
      expect((await call(base, SECRET, "PUT", "/api/config", yaml)).status).toBe(200);
      const r = await call(base, SECRET, "POST", "/api/profiles/taken/start");
      expect(r.status).toBe(409);
      expect(r.body.error.type).toBe("PortInUse");
      expect(r.body.error.context.holder.pid).toBe(process.pid);
      expect(r.body.error.message).toContain(`port ${holder.port}`);
      expect(r.body.error.message).toContain(`PID ${process.pid}`);
      expect((await call(base, SECRET, "GET", "/api/profiles/taken")).body.state).toBe("stopped");
    } finally {
      holder.stop(true);
    }
  });

  test("GET /api/profiles/NAME/logs streams the server's output as SSE, kept lines first", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}api/profiles/alpha/logs`, {
      headers: { authorization: `Bearer ${SECRET}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const lines: any[] = [];
    const decoder = new TextDecoder();
    let buf = "";
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      for await (const chunk of res.body as ReadableStream<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        for (let at = buf.indexOf("\n\n"); at >= 0; at = buf.indexOf("\n\n")) {
          const data = buf
            .slice(0, at)
            .split("\n")
            .find((l) => l.startsWith("data: "));
          buf = buf.slice(at + 2);
          if (data) lines.push(JSON.parse(data.slice(6)));
        }
        if (lines.some((l) => /labdaemon serving/.test(l.text))) break;
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    expect(lines[0].text).toContain("[launcher] started: serve --config");
    expect(lines.find((l) => /labdaemon serving/.test(l.text)).level).toBe("info");
    expect(lines.every((l, i) => i === 0 || l.seq > lines[i - 1].seq)).toBe(true);
  });

  test("every API call needs the secret; other Hosts and Origins are refused; no CORS", async () => {
    const none = await call(base, null, "GET", "/api/profiles");
    expect(none.status).toBe(401);
    expect(none.body.error.type).toBe("Unauthorized");
    expect((await call(base, "wrong", "GET", "/api/profiles")).status).toBe(401);
    // A page of another site, or a DNS name rebound to 127.0.0.1, never gets an answer, secret or not.
    const rebound = await call(base, SECRET, "GET", "/api/profiles", undefined, {
      host: `evil.example:${launcher.http.port}`,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body.error.type).toBe("ForbiddenHost");
    const csrf = await call(base, SECRET, "POST", "/api/profiles/beta/start", undefined, {
      origin: "http://evil.example",
    });
    expect(csrf.status).toBe(403);
    expect(csrf.body.error.type).toBe("ForbiddenOrigin");
    expect((await call(base, SECRET, "GET", "/api/profiles/beta")).body.state).toBe("stopped");
    const preflight = await call(base, null, "OPTIONS", "/api/profiles", undefined, {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const same = await call(base, SECRET, "GET", "/api/profiles", undefined, { origin: base.slice(0, -1) });
    expect(same.status).toBe(200);
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
    // The page itself holds no secret and loads without one; its own Host rules still apply.
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
  });

  test("bad requests get the envelope with a 4xx and change nothing", async () => {
    expect((await call(base, SECRET, "POST", "/api/profiles/nope/start")).body.error.type).toBe("ProfileNotFound");
    expect((await call(base, SECRET, "POST", "/api/profiles/nope/start")).status).toBe(404);
    const badKeep = await call(base, SECRET, "POST", "/api/profiles/beta/start", { keep_running: "yes" });
    expect(badKeep.status).toBe(400);
    expect((await call(base, SECRET, "POST", "/api/profiles/beta/start", "{nope")).status).toBe(400);
    expect((await call(base, SECRET, "DELETE", "/api/profiles")).status).toBe(405);
    expect((await call(base, SECRET, "GET", "/api/nothing")).status).toBe(404);
    expect((await call(base, SECRET, "GET", "/api/profiles/%E0/logs")).status).toBe(400);
    expect((await call(base, SECRET, "GET", "/api/profiles/beta")).body.state).toBe("stopped");
  });

  test("PUT /api/config: a syntax error is refused at file:line:col and the file is unchanged; a fix is saved with a backup", async () => {
    const before = readFileSync(lab.config, "utf8");
    const broken = before.replace("description: Laser bench", "description: [Laser bench");
    const r = await call(base, SECRET, "PUT", "/api/config", broken);
    expect(r.status).toBe(422);
    expect(r.body.error.type).toBe("ConfigError");
    expect(r.body.error.context.file).toBe(lab.config);
    expect(r.body.error.context.line).toBeGreaterThan(0);
    expect(r.body.error.message).toStartWith(`${lab.config}:`);
    expect(readFileSync(lab.config, "utf8")).toBe(before);
    // A file that parses but that serve would refuse (unknown key) is refused the same way.
    const unknownKey = await call(
      base,
      SECRET,
      "PUT",
      "/api/config",
      before.replace("description: Laser bench", "colour: red"),
    );
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.body.error.context.line).toBe(3);
    expect(readFileSync(lab.config, "utf8")).toBe(before);

    // alpha is running: changing its section marks it as needing a restart, beta's untouched.
    const changed = before.replace("description: Laser bench", "description: Laser bench (moved)");
    const ok = await call(base, SECRET, "PUT", "/api/config", changed);
    expect(ok.status).toBe(200);
    expect(readFileSync(lab.config, "utf8")).toBe(changed);
    expect(readFileSync(`${lab.config}.bak`, "utf8")).toBe(before);
    const views = Object.fromEntries(ok.body.profiles.map((p: any) => [p.name, p]));
    expect(views.alpha.needs_restart).toBe(true);
    expect(views.alpha.description).toBe("Laser bench (moved)");
    expect(views.beta.needs_restart).toBe(false);
    const got = await call(base, SECRET, "GET", "/api/config");
    expect(got.body).toMatchObject({ file: lab.config, exists: true, format: "yaml", text: changed });
  });

  test("a configuration edited elsewhere is re-read; one that no longer loads is reported beside the last good profiles", async () => {
    const good = readFileSync(lab.config, "utf8");
    try {
      writeFileSync(lab.config, `${good}  delta:\n    port: 0\n`);
      expect((await call(base, SECRET, "GET", "/api/profiles")).body.profiles.map((p: any) => p.name)).toContain(
        "delta",
      );
      writeFileSync(lab.config, `${good}  epsilon: [\n`);
      const broken = (await call(base, SECRET, "GET", "/api/profiles")).body;
      expect(broken.profiles.map((p: any) => p.name)).toContain("delta");
      expect(broken.config.error.file).toBe(lab.config);
      expect(broken.config.error.line).toBeGreaterThan(0);
      const refused = await call(base, SECRET, "POST", "/api/profiles/delta/start");
      expect(refused.status).toBe(409);
      expect(refused.body.error.type).toBe("ConfigInvalid");
    } finally {
      writeFileSync(lab.config, good);
    }
    const back = (await call(base, SECRET, "GET", "/api/profiles")).body;
    expect(back.config.error).toBeNull();
    expect(back.profiles.map((p: any) => p.name)).not.toContain("delta");
  });

  test("quitting stops the servers it started, except one kept running", async () => {
    const kept = await call(base, SECRET, "POST", "/api/profiles/beta/start", { keep_running: true });
    expect(kept.body.keep_running).toBe(true);
    const beta = await profileIn(base, SECRET, "beta", "healthy");
    const alpha = (await call(base, SECRET, "GET", "/api/profiles/alpha")).body;
    expect(alpha.state).toBe("healthy");
    const result = await launcher.quit();
    expect(result.stopped).toEqual(["alpha"]);
    expect(result.kept).toEqual(["beta"]);
    expect(procExists(alpha.pid)).toBe(false);
    expect(procExists(beta.pid)).toBe(true);
    // Its record stays, for the next launcher to offer.
    expect(launcher.supervisor.runDir.list().map((r) => r.pid)).toEqual([beta.pid]);
    process.kill(beta.pid, "SIGTERM");
    await waitFor("the kept server to end", async () => !procExists(beta.pid));
    expect(existsSync(lab.runDir)).toBe(true);
  }, 30_000);
});
