// `labdaemon profiles`: what a configuration file offers, seen without starting anything.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, run, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const PROFILES = JSON.stringify({
  default: "mock",
  configs: {
    mock: {
      name: "Mock bench",
      description: "simulated laser only",
      port: 5000,
      devices: { laser1: { type: "SimLaser", connect: true } },
    },
    real: {
      name: "Real bench",
      port: 5001,
      devices: { dmm1: { type: "ScpiInstrument", params: { resource: "GPIB0::12::INSTR" } } },
    },
  },
});

test("lists each profile's name, port, devices and description, marking the default", async () => {
  const cwd = await workspace({ "lab_servers.json": PROFILES });
  const r = await run(["profiles"], { cwd });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toBe(
    [
      `${join(cwd, "lab_servers.json")} (via current folder)`,
      "PROFILE  NAME        PORT  DEVICES                DESCRIPTION",
      "mock *   Mock bench  5000  laser1 (SimLaser)      simulated laser only",
      "real     Real bench  5001  dmm1 (ScpiInstrument)",
      "* the default; choose another with: labdaemon serve --profile NAME",
      "",
    ].join("\n"),
  );
});

test("--config FILE with one configuration; a broken profile is a configuration error at its line", async () => {
  const cwd = await workspace({
    "one.yaml": "name: Bench\ndevices:\n  l: { type: SimLaser }\n",
    "bad.yaml": "configs:\n  a:\n    port: huge\n",
  });
  const one = await run(["profiles", "--config", "one.yaml"], { cwd });
  expect(one.exitCode).toBe(0);
  expect(one.stdout).toContain("(single)  Bench  5000  l (SimLaser)\n");
  const bad = await run(["profiles", "--config", "bad.yaml"], { cwd });
  expect(bad.exitCode).toBe(3);
  expect(bad.stderr).toBe(
    `labdaemon: ${join(cwd, "bad.yaml")}:3:5: configs.a.port must be an integer within 0–65535\n`,
  );
});
