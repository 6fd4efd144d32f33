// What a started server inherits and how its health is judged: the profile's token (never a weaker one
// than the launcher's environment gives), and a server that stops answering /health turns unhealthy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startLauncher, type Launcher } from "../../src/launcher/index.ts";
import { call, labDir, profileIn, removeLabDirs } from "./support.ts";

const SECRET = "settings-secret";
let launcher: Launcher;
let base: string;

beforeAll(async () => {
  const lab = labDir({
    "lab_servers.yaml": `configs:
  locked:
    port: 0
    token: inner-token
    devices: {}
  plain:
    port: 0
    devices: {}
`,
  });
  launcher = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret: SECRET, runDir: lab.runDir });
  base = launcher.http.url;
});

afterAll(async () => {
  await launcher.quit();
  removeLabDirs();
});

const status = async (port: number, token?: string) =>
  (await fetch(`http://127.0.0.1:${port}/devices`, { headers: token ? { authorization: `Bearer ${token}` } : {} }))
    .status;

describe("a started server's settings", () => {
  test("the profile's token applies, over a LABDAEMON_TOKEN the launcher inherited; without one the inherited token still protects it", async () => {
    const saved = process.env.LABDAEMON_TOKEN;
    process.env.LABDAEMON_TOKEN = "outer-token";
    try {
      await call(base, SECRET, "POST", "/api/profiles/locked/start");
      await call(base, SECRET, "POST", "/api/profiles/plain/start");
      const locked = await profileIn(base, SECRET, "locked", "healthy");
      const plain = await profileIn(base, SECRET, "plain", "healthy");
      expect(await status(locked.port)).toBe(401);
      expect(await status(locked.port, "outer-token")).toBe(401);
      expect(await status(locked.port, "inner-token")).toBe(200);
      expect(await status(plain.port)).toBe(401);
      expect(await status(plain.port, "outer-token")).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.LABDAEMON_TOKEN;
      else process.env.LABDAEMON_TOKEN = saved;
    }
  }, 30_000);

  test("a server that stops answering /health is shown unhealthy, and healthy again when it answers", async () => {
    const p = await profileIn(base, SECRET, "plain", "healthy");
    process.kill(p.pid, "SIGSTOP");
    try {
      const down = await profileIn(base, SECRET, "plain", "unhealthy");
      expect(down.healthy).toBe(false);
      expect(down.pid).toBe(p.pid);
    } finally {
      process.kill(p.pid, "SIGCONT");
    }
    expect((await profileIn(base, SECRET, "plain", "healthy")).pid).toBe(p.pid);
  }, 30_000);
});
