// `labdaemon launcher` on the command line: its help, a user's mistakes as one line and an exit status.
import { afterAll, describe, expect, test } from "bun:test";
import { runCli } from "../cli/runCli.ts";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labDir, removeLabDirs, spawnLauncher, waitFor } from "./support.ts";

afterAll(removeLabDirs);

describe("labdaemon launcher (command line)", () => {
  test("is a command with its own help, listed in the main help", async () => {
    const help = await runCli(["launcher", "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("Usage: labdaemon launcher [--config FILE] [--port 5100] [--no-open]");
    expect((await runCli(["help", "launcher"])).stdout.toString()).toContain("--no-open");
    expect((await runCli(["--help"])).stdout.toString()).toContain("labdaemon launcher");
  });

  test("mistakes are one line and exit status 2 (usage) or 3 (configuration)", async () => {
    const bad = await runCli(["launcher", "--prot", "5100"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toBe(
      "labdaemon: launcher: unknown flag --prot (did you mean --port?) (see labdaemon launcher --help)",
    );
    const missing = await runCli(["launcher", "--no-open", "--config", "/nonexistent/lab.yaml"]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr.trim()).toBe("labdaemon: /nonexistent/lab.yaml: config file not found (given by --config)");
  });

  test("a port already in use ends it with one line and status 1", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const lab = labDir();
      const r = await runCli(["launcher", "--no-open", "--port", String(holder.port)], {
        cwd: lab.dir,
        env: { LABDAEMON_RUN_DIR: lab.runDir },
      });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split("\n").at(-1)).toBe(
        `labdaemon: port ${holder.port} on 127.0.0.1 is already in use (another launcher? choose another with --port)`,
      );
    } finally {
      holder.stop(true);
    }
  });

  test("without --no-open it hands the URL with its secret to the desktop's opener (xdg-open)", async () => {
    const lab = labDir();
    const opened = join(lab.dir, "opened.txt");
    const bin = join(lab.dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(join(bin, "xdg-open"), 0o755);
    const l = await spawnLauncher(lab, { open: true, env: { PATH: `${bin}:${process.env.PATH}` } });
    try {
      const url = await waitFor(
        "xdg-open to be called",
        async () => {
          try {
            return readFileSync(opened, "utf8") || undefined;
          } catch {
            return undefined;
          }
        },
        10_000,
      );
      expect(url).toBe(`${l.base}?token=${l.token}`);
    } finally {
      l.proc.kill("SIGTERM");
      await l.proc.exited;
    }
  });
});
