// Running as a service: the sd_notify protocol spoken by `serve` to a datagram socket the test owns (as
// systemd would own it), and the unit `service install` writes, checked by systemd's own verifier.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli } from "./runCli.ts";

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");
const dir = mkdtempSync(join(tmpdir(), "labdaemon-service-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A datagram socket bound at `path` (python3: bun has no AF_UNIX datagrams); each message is a JSON line. */
function listen(path: string) {
  const code = `import socket,sys,json
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); print("bound",flush=True)
while True:
  m=s.recv(4096).decode(); print(json.dumps(m),flush=True)`;
  const proc = Bun.spawn(["python3", "-c", code, path], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += new TextDecoder().decode(value);
      let i;
      while ((i = buffered.indexOf("\n")) >= 0) {
        lines.push(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
        for (const w of waiters.splice(0)) w();
      }
    }
  })();
  /** Resolves with every line so far once `pred` holds for one of them; rejects after `ms`. */
  const until = (pred: (line: string) => boolean, ms = 30_000) =>
    new Promise<string[]>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`not seen within ${ms} ms; got ${JSON.stringify(lines)}`)), ms);
      const check = () => (lines.some(pred) ? (clearTimeout(t), res([...lines])) : waiters.push(check));
      check();
    });
  return { proc, until, messages: () => lines.slice(1).map((l) => JSON.parse(l) as string) };
}

describe("sd_notify", () => {
  test("serve says READY=1 once it listens, pings WATCHDOG=1 at half WATCHDOG_USEC, and STOPPING=1 at SIGTERM", async () => {
    const socket = join(dir, "notify.sock");
    const sd = listen(socket);
    try {
      await sd.until((l) => l === "bound");
      const server = Bun.spawn([process.execPath, MAIN, "serve", "--sim", "--port", "0"], {
        env: { ...process.env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: "200000", LABDAEMON_CONFIG: "" },
        stdout: "pipe",
        stderr: "pipe",
      });
      await sd.until((l) => l.includes("READY=1"));
      const ready = sd.messages().find((m) => m.includes("READY=1"))!;
      const url = /STATUS=serving on (http:\/\/\S+)/.exec(ready)?.[1];
      expect(ready).toContain(`MAINPID=${server.pid}`);
      // READY only once the server answers.
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await sd.until(() => sd.messages().filter((m) => m === "WATCHDOG=1").length >= 2);
      server.kill("SIGTERM");
      await sd.until((l) => l.includes("STOPPING=1"));
      expect(await server.exited).toBe(0);
      const order = sd.messages().map((m) => m.split("\n")[0]);
      expect(order[0]).toBe("READY=1");
      expect(order.at(-1)).toBe("STOPPING=1");
    } finally {
      sd.proc.kill();
    }
  }, 60_000);

  test("a NOTIFY_SOCKET nobody listens on costs one warning, never the server", async () => {
    const server = Bun.spawn([process.execPath, MAIN, "serve", "--sim", "--port", "0"], {
      env: { ...process.env, NOTIFY_SOCKET: join(dir, "nobody.sock"), LABDAEMON_CONFIG: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = server.stdout.getReader();
    let text = "";
    while (!text.includes("labdaemon serving")) text += new TextDecoder().decode((await out.read()).value);
    const url = /on (http:\/\/\S+?)[\s(]/.exec(text)?.[1];
    expect((await fetch(`${url}/health`)).status).toBe(200);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const err = await new Response(server.stderr).text();
    expect(err.match(/cannot notify systemd/g)).toHaveLength(1);
  }, 60_000);
});

describe("service install", () => {
  const config = join(dir, "lab.yaml");
  writeFileSync(config, "configs:\n  bench:\n    port: 5123\n    devices: {}\n");

  test("--print shows a Type=notify unit that runs serve with the absolute configuration and profile", async () => {
    const r = await runCli(["service", "install", "--config", config, "--profile", "bench", "--print"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const unit = r.stdout.toString();
    expect(unit).toContain("Type=notify");
    expect(unit).toContain("WatchdogSec=30");
    expect(unit).toMatch(
      new RegExp(
        `^ExecStart=.*"serve" "--config" "${config.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}" "--profile" "bench"$`,
        "m",
      ),
    );
    expect(unit).toContain("Description=labdaemon lab server (profile bench)");
  });

  test("without $USER the system unit's User= is still the installing user (root: none), never 'unknown'", async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !["USER", "SUDO_USER", "LABDAEMON_CONFIG"].includes(k)) env[k] = v;
    const r = Bun.spawnSync([process.execPath, MAIN, "service", "install", "--config", config, "--print"], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const me = Bun.spawnSync(["id", "-un"], { stdout: "pipe" }).stdout.toString().trim();
    const user = /^User=(.*)$/m.exec(r.stdout.toString())?.[1] ?? null;
    expect(user).toBe(me === "root" ? null : me);
  });

  test("install writes labdaemon-PROFILE.service that systemd-analyze verify accepts; uninstall removes it", async () => {
    const unitDir = join(dir, "units");
    const r = await runCli([
      "service",
      "install",
      "--config",
      config,
      "--profile",
      "bench",
      "--user",
      "--unit-dir",
      unitDir,
    ]);
    expect(r.exitCode).toBe(0);
    const file = join(unitDir, "labdaemon-bench.service");
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toContain("WantedBy=default.target");
    if (Bun.which("systemd-analyze")) {
      const v = Bun.spawnSync(["systemd-analyze", "verify", file], { stderr: "pipe" });
      const complaints = v.stderr
        .toString()
        .split("\n")
        .filter((l) => l.includes(file));
      expect(complaints).toEqual([]);
    }
    const u = await runCli(["service", "uninstall", "--name", "labdaemon-bench", "--user", "--unit-dir", unitDir]);
    expect(u.exitCode).toBe(0);
    expect(existsSync(file)).toBe(false);
    const again = await runCli(["service", "uninstall", "--name", "labdaemon-bench", "--user", "--unit-dir", unitDir]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a profile the configuration lacks, a missing action and a bad unit name are one-line errors at install time", async () => {
    for (const [args, code] of [
      [["service", "install", "--config", config, "--profile", "nope", "--print"], 3],
      [["service"], 2],
      [["service", "start"], 2],
      [["service", "install", "--sim", "--name", "bad name", "--print"], 2],
    ] as const) {
      const r = await runCli([...args]);
      expect({ args, code: r.exitCode }).toEqual({ args, code });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });
});

test("install and uninstall leave a unit they did not write alone", async () => {
  const unitDir = join(dir, "foreign");
  Bun.spawnSync(["mkdir", "-p", unitDir]);
  const foreign = join(unitDir, "nginx.service");
  writeFileSync(foreign, "[Service]\nExecStart=/usr/sbin/nginx\n");
  for (const args of [
    ["service", "install", "--sim", "--user", "--name", "nginx", "--unit-dir", unitDir],
    ["service", "uninstall", "--user", "--name", "nginx", "--unit-dir", unitDir],
  ]) {
    const r = await runCli(args);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("not written by labdaemon service install");
  }
  expect(readFileSync(foreign, "utf8")).toBe("[Service]\nExecStart=/usr/sbin/nginx\n");
});

describe("service install refuses what serve would refuse at every start", () => {
  const unitDir = join(dir, "refused-units");
  const wide = join(dir, "wide.yaml");
  writeFileSync(wide, "host: 0.0.0.0\ndevices: {}\n");
  const camera = join(dir, "camera.yaml");
  writeFileSync(camera, "devices:\n  cam1: { type: Camera }\n");
  const tooShort = join(dir, "tooshort.yaml");
  writeFileSync(tooShort, "devices:\n  laser1: { type: SimLaser, params: { wavelength: 99 } }\n");

  /** serve's one line for `config` (it refuses before it listens). */
  async function serveSays(config: string): Promise<{ status: number | null; line: string }> {
    const r = await runCli(["serve", "--config", config, "--port", "0"]);
    return { status: r.exitCode, line: r.stderr.trim() };
  }

  test("a non-loopback host without a token: serve's words and status 2, with --print and without; nothing written", async () => {
    const serve = await serveSays(wide);
    expect(serve.status).toBe(2);
    // serve's reason, without its remedy (--token, --insecure) that a service cannot take.
    const reason = serve.line.slice(serve.line.indexOf("serve: "), serve.line.indexOf(";"));
    expect(reason).toBe(
      "serve: refusing to listen on 0.0.0.0 (the configuration's host) without a token: anyone on the network could drive the instruments",
    );
    for (const args of [
      ["service", "install", "--config", wide, "--print"],
      ["service", "install", "--config", wide, "--user", "--unit-dir", unitDir],
    ]) {
      // The service runs without this shell's variables: a token there does not count.
      const r = await runCli(args, { env: { LABDAEMON_TOKEN: "secret" } });
      expect({ args, status: r.exitCode, stdout: r.stdout.toString() }).toEqual({ args, status: 2, stdout: "" });
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stderr).toContain(reason);
      expect(r.stderr).toContain("give the configuration a token");
    }
    expect(existsSync(join(unitDir, "labdaemon.service"))).toBe(false);
  });

  test("a token in the configuration makes the same host installable", async () => {
    const withToken = join(dir, "wide-token.yaml");
    writeFileSync(withToken, "host: 0.0.0.0\ntoken: s3cret-token\ndevices: {}\n");
    const r = await runCli(["service", "install", "--config", withToken, "--print"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain("Type=notify");
  });

  test("a device serve cannot create (an unknown type, parameters its driver refuses): serve's very line, status 3", async () => {
    for (const config of [camera, tooShort]) {
      const serve = await serveSays(config);
      expect(serve.status).toBe(3);
      const r = await runCli(["service", "install", "--config", config, "--print"]);
      expect({ config, status: r.exitCode, stderr: r.stderr.trim(), stdout: r.stdout.toString() }).toEqual({
        config,
        status: 3,
        stderr: serve.line,
        stdout: "",
      });
    }
  });
});
