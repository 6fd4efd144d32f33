// The compiled executable alone in an empty folder runs the launcher with everything embedded: the page
// (CodeMirror included) loads, a profile starts as a child of the same binary and turns healthy, and no
// request leaves 127.0.0.1 — in a network namespace whose only interface is loopback where allowed.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { buildPages } from "../../tools/webBuild.ts";
import { binary, workspace } from "../e2e/support.ts";
import { LAB_YAML } from "./support.ts";

/** `unshare -n` (root, or user namespaces): a fresh namespace with loopback only, brought up first. */
function netnsAvailable(): boolean {
  return Bun.spawnSync(["unshare", "-n", "sh", "-c", "ip link set lo up"], { stderr: "ignore" }).exitCode === 0;
}

describe("launcher from the compiled binary", () => {
  test("from an empty folder: page, start, healthy, quit; every request on 127.0.0.1", async () => {
    await buildPages(resolve(import.meta.dir, "../..")); // the executable embeds build/web as it finds it
    const { exe } = await binary();
    const ws = await workspace({ "lab_servers.yaml": LAB_YAML });
    const driver = join(import.meta.dir, "binaryDriver.ts");
    const isolated = netnsAvailable();
    const cmd = isolated
      ? ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', process.execPath, driver, exe, ws]
      : [process.execPath, driver, exe, ws];
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(code, stderr).toBe(0);
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    if (isolated) expect(r.interfaces).toEqual(["lo"]);
    else
      console.warn(
        "launcher binary test: no network namespace here (unshare -n refused); checked request origins only",
      );
    // The child is this very executable serving the profile.
    expect(r.childCommand[0]).toBe(exe);
    expect(r.childCommand.slice(1, 5)).toEqual(["serve", "--config", join(ws, "lab_servers.yaml"), "--profile"]);
    expect(r.requests.length).toBeGreaterThan(3);
    expect(r.foreign).toEqual([]);
    // Quit from the page stopped the server it started, and the launcher ended cleanly.
    expect(r.exitCode).toBe(0);
    expect(r.childAlive).toBe(false);
    expect(r.stderr).toContain("stopped alpha");
  }, 240_000);
});
