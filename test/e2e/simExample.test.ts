// The executable alone is enough to write a simulator definition: `sim --help` documents the format and
// `sim --example` prints a definition that `sim` serves.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, pollUntil, run, start, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

/** Every key of the definition format: `sim --help` documents each, and `sim --example` uses each. */
const FORMAT_KEYS = [
  "eom:",
  "error:",
  "dialogues:",
  "properties:",
  "getter:",
  "setter:",
  "specs:",
  "valid:",
  "blocks:",
  "datatype:",
  "bigEndian:",
  "silent:",
  "drop:",
  "operations:",
  "ms:",
  "resources:",
  "socket:",
  "vxi11:",
  "hislip:",
  "serial:",
];

test("sim --help documents every key of the format", async () => {
  const cwd = await workspace();
  const r = await run(["sim", "--help"], { cwd });
  expect(r.exitCode).toBe(0);
  const missing = [...FORMAT_KEYS, "--example"].filter((key) => !r.stdout.includes(key));
  expect(missing).toEqual([]);
});

test("sim --example uses every key of the format", async () => {
  const cwd = await workspace();
  const r = await run(["sim", "--example"], { cwd });
  expect(r.exitCode).toBe(0);
  // Keys only, not the comments that mention them: a feature dropped from the example must fail here.
  const definition = r.stdout.replace(/#.*$/gm, "");
  expect(FORMAT_KEYS.filter((key) => !definition.includes(key))).toEqual([]);
});

test("sim --example prints a definition that sim serves and answers from", async () => {
  const cwd = await workspace();
  const example = await run(["sim", "--example"], { cwd });
  expect(example.exitCode).toBe(0);
  expect(example.stderr).toBe("");
  // Free ports and a private pty link, so parallel runs do not collide; the VXI-11 line is left out
  // because rpcbind holds one registration per machine, which other test runs may be using.
  const served = example.stdout
    .replace(/port: (5025|5026|4880)/g, "port: 0")
    .replace("/tmp/labdaemon-sim-laser", join(cwd, "laser-pty"))
    .split("\n")
    .filter((l) => !l.includes("vxi11:"))
    .join("\n");
  expect(served.split("\n").length).toBe(example.stdout.split("\n").length - 1);
  writeFileSync(join(cwd, "example.yaml"), served);
  const sim = await start(["sim", "example.yaml"], /\nready\n/, { cwd });
  try {
    const dmm = /^(TCPIP0::127\.0\.0\.1::\d+::SOCKET)\tdmm$/m.exec(sim.stdout())![1]!;
    expect(sim.stdout()).toMatch(/^ASRL.*laser-pty::INSTR\tlaser$/m);
    const idn = await run(["query", dmm, "*IDN?"], { cwd });
    expect(idn).toEqual({ exitCode: 0, stdout: "LabDaemon,SimDMM,0001,1.0\n", stderr: "" });
    const range = await run(["query", dmm, "RANG?"], { cwd });
    expect(range.stdout).toBe("AUTO\n");
    const hislip = /^(TCPIP0::127\.0\.0\.1::hislip0,\d+::INSTR)\tdmm$/m.exec(sim.stdout())![1]!;
    const ask = async (message: string) => (await run(["query", hislip, message], { cwd })).stdout;
    expect(await ask("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0\n");
    // The example's operation: *OPC after INIT sets the operation-complete bit once INIT's time is over.
    expect(await ask("*ESR?")).toBe("0\n");
    expect(await ask("INIT")).toBe("");
    expect(await ask("*OPC")).toBe("");
    expect(
      await pollUntil("*OPC to set bit 0 of *ESR?", async () => ((await ask("*ESR?")) === "1\n" ? true : undefined)),
    ).toBe(true);
    // Neither INIT nor *OPC was an unknown command.
    expect(await ask("SYST:ERR?")).toBe('0,"No error"\n');
  } finally {
    expect((await sim.terminate()).exitCode).toBe(0);
  }
});
