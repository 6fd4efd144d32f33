// The executable's other commands: help, version, simulated instruments, talking to instruments, and
// a lab whose ScpiInstrument drives an instrument served by `labdaemon sim`.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, http, run, serve, start, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const SIM_DEF = `devices:
  psu:
    eom: { q: "\\n", r: "\\n" }
    error: ERROR
    dialogues:
      - { q: "*IDN?", r: "LabDaemon,SimPSU,42,1.0" }
      - { q: "*RST" }
      - { q: "*CLS" }
    properties:
      volt:
        default: 0.5
        getter: { q: "VOLT?", r: "{:.2f}" }
        setter: { q: "VOLT {}" }
        specs: { min: 0, max: 30, type: float }
    blocks:
      - { q: "TRACE?", datatype: float32, length: 4, values: [1.5, -2, 3, 4] }
resources:
  - { device: psu, socket: { port: 0 } }
`;

/** The example laser's "\r\n" terminations, and a block whose data holds "\n" and bytes UTF-8 mangles. */
const CRLF_AND_BLOCKS_DEF = `devices:
  laser:
    eom: { q: "\\r\\n", r: "\\r\\n" }
    dialogues:
      - { q: "*IDN?", r: "LabDaemon,SimLaser,0002,1.0" }
  scope:
    blocks:
      - { q: "WAVE?", datatype: uint8, length: 200000, values: [10, 191, 13, 255] }
resources:
  - { device: laser, socket: { port: 0 } }
  - { device: scope, socket: { port: 0 } }
`;

describe("help and version", () => {
  test("--version prints the package version; --help and COMMAND --help document every command and flag", async () => {
    const cwd = await workspace();
    const v = await run(["--version"], { cwd });
    expect([v.exitCode, v.stdout.trim()]).toEqual([0, `labdaemon ${pkg.version}`]);
    const help = await run(["--help"], { cwd });
    expect(help.exitCode).toBe(0);
    for (const c of ["serve", "resources", "query", "sim", "--version"]) expect(help.stdout).toContain(c);
    const serveHelp = await run(["serve", "--help"], { cwd });
    for (const f of [
      "--host",
      "--port",
      "--config",
      "--profile",
      "--token",
      "LABDAEMON_TOKEN",
      "--cors",
      "--log-level",
      "--sim",
      "LABDAEMON_CONFIG",
      "lab_servers",
    ]) {
      expect(serveHelp.stdout).toContain(f);
    }
    const queryHelp = (await run(["help", "query"], { cwd })).stdout;
    for (const f of [
      "Usage: labdaemon query RESOURCE MESSAGE",
      "--timeout",
      "--read-termination",
      "--write-termination",
      "--baud-rate",
      "--visa-library",
    ]) {
      expect(queryHelp).toContain(f);
    }
    const bare = await run([], { cwd });
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain("Usage:");
  });
});

describe("sim, query and resources", () => {
  test("labdaemon sim serves a definition; labdaemon query talks to it; errors exit 1", async () => {
    const cwd = await workspace({ "psu.yaml": SIM_DEF });
    const sim = await start(["sim", "psu.yaml"], /^(TCPIP0::\S+::SOCKET)\tpsu\nready\n/m, { cwd });
    const resource = sim.match[1]!;
    try {
      const idn = await run(["query", resource, "*IDN?"], { cwd });
      expect([idn.exitCode, idn.stdout]).toEqual([0, "LabDaemon,SimPSU,42,1.0\n"]);
      expect((await run(["query", resource, "VOLT 12.5"], { cwd })).exitCode).toBe(0);
      expect((await run(["query", resource, "VOLT?"], { cwd })).stdout).toBe("12.50\n");
      const unknown = await run(["query", resource, "NOTHING?", "--timeout", "300"], { cwd });
      expect(unknown.exitCode).toBe(0); // the simulator answers unknown queries with its error string
      expect(unknown.stdout).toBe("ERROR\n");
    } finally {
      expect((await sim.terminate()).exitCode).toBe(0);
    }
    const refused = await run(["query", "TCPIP0::127.0.0.1::1::SOCKET", "*IDN?", "--timeout", "500"], { cwd });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/TCPIP0::127\.0\.0\.1::1::SOCKET.*refused/i);
    const bad = await run(["sim", "nope.yaml"], { cwd });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain("nope.yaml");
  });

  test("labdaemon query names a \\r\\n instrument's terminations and prints a binary block byte for byte", async () => {
    const cwd = await workspace({ "bench.yaml": CRLF_AND_BLOCKS_DEF });
    const sim = await start(
      ["sim", "bench.yaml"],
      /^(TCPIP0::\S+::SOCKET)\tlaser\n(TCPIP0::\S+::SOCKET)\tscope\nready\n/m,
      { cwd },
    );
    const [laser, scope] = [sim.match[1]!, sim.match[2]!];
    try {
      const timedOut = await run(["query", laser, "*IDN?", "--timeout", "300"], { cwd });
      expect(timedOut.exitCode).toBe(1);
      expect(timedOut.stderr).toContain(
        "no answer ending in '\\n' within 300 ms to '*IDN?' + '\\n': if the instrument uses other terminations, name them, e.g. --write-termination '\\r\\n' --read-termination '\\r\\n'",
      );
      const idn = await run(
        ["query", laser, "*IDN?", "--write-termination", "\\r\\n", "--read-termination", "\\r\\n"],
        { cwd },
      );
      expect([idn.exitCode, idn.stdout, idn.stderr]).toEqual([0, "LabDaemon,SimLaser,0002,1.0\n", ""]);
      // 200,000 bytes through a pipe: all of them written before the process exits.
      const proc = Bun.spawn([(await binary()).exe, "query", scope, "WAVE?"], { cwd, stdout: "pipe", stderr: "pipe" });
      const [bytes, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited]);
      const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => [0x0a, 0xbf, 0x0d, 0xff][i % 4]!));
      expect(code).toBe(0);
      expect(Buffer.from(bytes).equals(Buffer.concat([Buffer.from("#6200000"), data, Buffer.from("\n")]))).toBe(true);
    } finally {
      expect((await sim.terminate()).exitCode).toBe(0);
    }
  });

  test("labdaemon resources lists what it finds and exits 0", async () => {
    const cwd = await workspace();
    const r = await run(["resources"], { cwd });
    expect(r.exitCode).toBe(0);
    for (const line of r.stdout.split("\n").filter(Boolean)) expect(line).toMatch(/::INSTR$|::SOCKET$/);
  });

  test("a lab's ScpiInstrument drives an instrument served by labdaemon sim", async () => {
    const cwd = await workspace({ "psu.yaml": SIM_DEF });
    const sim = await start(["sim", "psu.yaml"], /^(TCPIP0::\S+::SOCKET)\tpsu\nready\n/m, { cwd });
    await Bun.write(
      `${cwd}/lab.yaml`,
      `devices:\n  psu1:\n    type: ScpiInstrument\n    params: { resource: "${sim.match[1]}", timeoutMs: 1000 }\n    connect: true\n`,
    );
    const s = await serve(["--config", "lab.yaml", "--port", "0"], { cwd });
    try {
      const call = async (method: string, args: unknown[] = []) =>
        (await http(s.url, "/devices/psu1/call", { body: { method, args } })).body;
      expect((await call("idn")).result).toBe("LabDaemon,SimPSU,42,1.0");
      await call("write", ["VOLT 3.3"]);
      expect((await call("query", ["VOLT?"])).result).toBe("3.30");
      expect((await call("queryBinary", ["TRACE?", "float32", false])).result).toEqual([1.5, -2, 3, 4]);
      await call("write", ["BOGUS"]);
      expect((await call("errors")).result).toEqual(['-113,"Undefined header"']);
      const methods = (await http(s.url, "/devices/psu1/methods")).body.methods.map((m: { name: string }) => m.name);
      expect(methods).toEqual(
        expect.arrayContaining(["idn", "reset", "clear", "write", "query", "queryBinary", "errors"]),
      );
    } finally {
      await s.terminate();
      await sim.terminate();
    }
  });
});
