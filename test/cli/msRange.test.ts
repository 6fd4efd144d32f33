// Every millisecond value the CLI takes has one range, 1–86,400,000 (24 h): 0 would mean no bound and
// anything above 2^31 - 1 makes a JS timer fire at once.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { msFlag, UsageError } from "../../src/cli/args.ts";
import { ConfigError, loadConfigFile } from "../../src/cli/config.ts";
import { runCli } from "./runCli.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-ms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("msFlag accepts 1 and 86400000 and refuses 0, 86400001, 3000000000 and non-numbers with a usage error", () => {
  expect(msFlag(undefined, "--timeout")).toBeUndefined();
  expect(msFlag("1", "--timeout")).toBe(1);
  expect(msFlag("86400000", "--timeout")).toBe(86_400_000);
  for (const bad of ["0", "86400001", "3000000000", "1e3", "-5", ""]) {
    const e = (() => {
      try {
        msFlag(bad, "--connect-timeout");
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(UsageError);
    expect(e!.message).toBe(
      `--connect-timeout must be a whole number of milliseconds within 1–86400000 (24 h), got '${bad}'`,
    );
  }
});

test("query --timeout 0 and 3000000000 are usage errors (exit 2), not a RangeError stack", async () => {
  for (const v of ["0", "3000000000"]) {
    const r = await runCli(["query", "ASRL/dev/null::INSTR", "*IDN?", "--timeout", v]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `labdaemon: --timeout must be a whole number of milliseconds within 1–86400000 (24 h), got '${v}'\n`,
    );
  }
});

test("serve --connect-timeout 0 and 3000000000 are usage errors (exit 2)", async () => {
  for (const v of ["0", "3000000000"]) {
    const r = await runCli(["serve", "--sim", "--port", "0", "--connect-timeout", v]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `--connect-timeout must be a whole number of milliseconds within 1–86400000 (24 h), got '${v}'`,
    );
  }
});

test("a device's callTimeoutMs of 0 or 3000000000 in a config is a config error naming the line", async () => {
  for (const v of [0, 3_000_000_000, 1.5]) {
    const f = join(dir, `ct${v}.yaml`);
    writeFileSync(f, `devices:\n  laser:\n    type: SimLaser\n    callTimeoutMs: ${v}\n`);
    const e = await loadConfigFile(f).then(
      () => null,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      `${f}:4:5: devices.laser.callTimeoutMs must be a whole number of milliseconds within 1–86400000 (24 h)`,
    );
  }
  const ok = join(dir, "ok.yaml");
  writeFileSync(ok, "devices:\n  laser:\n    type: SimLaser\n    callTimeoutMs: 86400000\n");
  expect((await loadConfigFile(ok)).config.devices.laser!.callTimeoutMs).toBe(86_400_000);
});
