// Every way a start can go wrong: the message names the problem (file and line for configs) and the
// exit status is non-zero — 2 for usage, 3 for configuration, 1 at run time.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, run, serve, type Served, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

async function fails(files: Record<string, string>, args: string[], env: Record<string, string> = {}) {
  const cwd = await workspace(files);
  const r = await run(["serve", "--port", "0", ...args], { cwd, env });
  return { ...r, cwd };
}

describe("usage errors exit 2", () => {
  test("an unknown flag, with a suggestion", async () => {
    const r = await fails({}, ["--prot", "5000"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("serve: unknown flag --prot (did you mean --port?)");
  });

  test("a flag without its value, a bad port, a bad log level, --sim with --config, an unknown command", async () => {
    const cwd = await workspace();
    const cases: Array<[string[], RegExp]> = [
      [["serve", "--port"], /--port needs a value/],
      [["serve", "--port", "70000"], /--port must be a port number within 0–65535, got '70000'/],
      [["serve", "--log-level", "loud"], /--log-level must be one of debug, info, warn, error, silent/],
      [["serve", "--sim", "--config", "x.yaml"], /--sim and --config exclude each other/],
      [["serve", "extra"], /unexpected argument 'extra'/],
      [
        ["serve", "--cors", "*"],
        /--cors takes an origin such as http:\/\/dashboard\.lab:8080 \(never '\*'\), got '\*'/,
      ],
      [["launch"], /unknown command 'launch'/],
      [["--port", "5000"], /unknown flag --port before a command/],
      [["query", "TCPIP0::1.2.3.4::5025::SOCKET"], /query: missing MESSAGE \(see labdaemon query --help\)$/m],
    ];
    for (const [args, message] of cases) {
      const r = await run(args, { cwd });
      expect(`${args.join(" ")} → ${r.exitCode}`).toBe(`${args.join(" ")} → 2`);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("configuration errors exit 3 and point at the file and line", () => {
  test("a missing --config file and a missing LABDAEMON_CONFIG file", async () => {
    const a = await fails({}, ["--config", "nope.yaml"]);
    expect(a.exitCode).toBe(3);
    expect(a.stderr).toContain(`${a.cwd}/nope.yaml: config file not found (given by --config)`);
    const b = await fails({}, [], { LABDAEMON_CONFIG: "/nonexistent/lab.json" });
    expect(b.exitCode).toBe(3);
    expect(b.stderr).toContain("/nonexistent/lab.json: config file not found (given by LABDAEMON_CONFIG)");
  });

  test("broken JSON, YAML and TypeScript", async () => {
    const json = await fails(
      {
        "lab_servers.json":
          '{\n  "name": "x",\n  "devices": {\n    "l1": { "type": "SimLaser" }\n    "l2": { "type": "SimLaser" }\n  }\n}\n',
      },
      [],
    );
    expect(json.exitCode).toBe(3);
    expect(json.stderr).toContain(`${json.cwd}/lab_servers.json:5:5: invalid JSON: expected ',' or '}'`);
    const yaml = await fails({ "lab_servers.yaml": "name: x\ndevices:\n  l1: {type: SimLaser\n  l2: 3\n" }, []);
    expect(yaml.exitCode).toBe(3);
    expect(yaml.stderr).toMatch(new RegExp(`${yaml.cwd}/lab_servers\\.yaml:\\d+:\\d+: invalid YAML`));
    const ts = await fails({ "lab_servers.ts": "export default {\n  name: 'x',\n  devices: {\n};\n" }, []);
    expect(ts.exitCode).toBe(3);
    expect(ts.stderr).toMatch(new RegExp(`${ts.cwd}/lab_servers\\.ts:4:\\d+: `));
  });

  test("a TypeScript config whose plugin file throws, and one importing a file that does not exist", async () => {
    const thrown = await fails(
      {
        "lab_servers.ts": "import { Cam } from './cam.ts';\nexport default { plugins: { devices: { Cam } } };\n",
        "cam.ts":
          "import { DeviceError } from 'labdaemon';\nexport class Cam {}\nthrow new DeviceError('camera SDK missing');\n",
      },
      [],
    );
    expect(thrown.exitCode).toBe(3);
    expect(thrown.stderr).toMatch(new RegExp(`${thrown.cwd}/cam\\.ts:3:\\d+: DeviceError: camera SDK missing`));
    const missing = await fails(
      { "lab_servers.ts": "import { Cam } from './camera.ts';\nexport default { plugins: { devices: { Cam } } };\n" },
      [],
    );
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain("camera.ts");
  });

  test("an unknown device type, an unknown key, a bad value, refused driver parameters", async () => {
    const type = await fails({ "lab.yaml": "name: x\ndevices:\n  cam1:\n    type: Camera\n" }, [
      "--config",
      "lab.yaml",
    ]);
    expect(type.exitCode).toBe(3);
    expect(type.stderr).toContain(
      `${type.cwd}/lab.yaml:4:5: device 'cam1': unknown device type 'Camera' (known: ScpiInstrument, SimLaser, SimPowerMeter, SimDaq)`,
    );
    const key = await fails({ "lab.yaml": "name: x\ndevices:\n  l1:\n    type: SimLaser\n    conect: true\n" }, [
      "--config",
      "lab.yaml",
    ]);
    expect(key.exitCode).toBe(3);
    expect(key.stderr).toContain(
      "lab.yaml:5:5: devices.l1.conect unknown key (expected one of: type, params, connect, callTimeoutMs)",
    );
    const value = await fails({ "lab.json": '{\n  "port": "fast"\n}\n' }, ["--config", "lab.json"]);
    expect(value.exitCode).toBe(3);
    expect(value.stderr).toContain("lab.json:2:3: port must be an integer within 0–65535");
    const params = await fails(
      { "lab.yaml": "devices:\n  pm1:\n    type: SimPowerMeter\n    params: { resonance: { depth: 3 } }\n" },
      ["--config", "lab.yaml"],
    );
    expect(params.exitCode).toBe(3);
    expect(params.stderr).toMatch(/lab\.yaml:2:3: device 'pm1': .*resonance\.depth must be within 0–1/);
  });

  test("profiles: several without --profile, an unknown --profile, --profile without profiles", async () => {
    const text = "configs:\n  mock: { devices: {} }\n  real: { devices: {} }\n";
    const none = await fails({ "lab_servers.yaml": text }, []);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toContain(
      "lab_servers.yaml:1:1: configs holds several profiles (mock, real): choose one with --profile",
    );
    const unknown = await fails({ "lab_servers.yaml": text }, ["--profile", "lab"]);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toContain("has no profile 'lab' (profiles: mock, real)");
    const single = await fails({ "lab_servers.yaml": "devices: {}\n" }, ["--profile", "mock"]);
    expect(single.exitCode).toBe(3);
    expect(single.stderr).toContain("--profile 'mock' given, but this file holds one configuration");
  });
});

describe("run-time failures exit 1", () => {
  const running: Served[] = [];
  afterAll(() => Promise.all(running.map((s) => s.terminate())));

  test("a port already in use", async () => {
    const cwd = await workspace();
    const first = await serve(["--sim", "--port", "0"], { cwd });
    running.push(first);
    const r = await run(["serve", "--sim", "--port", String(first.port)], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`port ${first.port} on 127.0.0.1 is already in use`);
  });

  test("sim on a port already in use names it in one line", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const cwd = await workspace({
        "psu.yaml": `devices:\n  psu:\n    dialogues: [{ q: "*IDN?", r: "PSU" }]\nresources:\n  - { device: psu, socket: { port: ${holder.port} } }\n`,
      });
      const r = await run(["sim", "psu.yaml"], { cwd });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe(
        `labdaemon: sim: port ${holder.port} on 127.0.0.1 is already in use (another 'labdaemon sim'? stop it, or change the port in psu.yaml; port 0 picks a free one)\n`,
      );
    } finally {
      holder.stop(true);
    }
  });

  test("lab with a broker that refuses the connection: its one line, no warning from a dependency", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const url = `mqtt://127.0.0.1:${holder.port}`;
    holder.stop(true); // nobody listens there now: the connection is refused
    const r = await run(["lab", "--mqtt", url, "--once", "--wait", "0"], { cwd: await workspace() });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`labdaemon: lab: ${url}: connect ECONNREFUSED 127.0.0.1:${url.split(":").pop()}\n`);
  });

  test("a VISA library named by flag or environment that cannot be loaded", async () => {
    const cwd = await workspace();
    const flag = await run(["resources", "--visa-library", "/nonexistent.so"], { cwd });
    expect(flag.exitCode).toBe(1);
    expect(flag.stderr).toStartWith(
      "labdaemon: resources: cannot load the VISA library '/nonexistent.so' (given by --visa-library): dlopen said: /nonexistent.so: ",
    );
    const env = await run(["resources"], { cwd, env: { LABDAEMON_VISA_LIBRARY: "libnope.so" } });
    expect(env.exitCode).toBe(1);
    expect(env.stderr).toStartWith(
      "labdaemon: resources: cannot load the VISA library 'libnope.so' (given by LABDAEMON_VISA_LIBRARY): ",
    );
  });

  test("an address this machine does not have", async () => {
    const cwd = await workspace();
    // TEST-NET-3: never local; with a token, as a non-loopback address needs one.
    const r = await run(["serve", "--sim", "--host", "203.0.113.7", "--port", "0", "--token", "t"], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("cannot listen on 203.0.113.7:0: ");
  });

  test("a TMPDIR the embedded addon cannot be unpacked into is named as the cause", async () => {
    const cwd = await workspace();
    const r = await run(["serve", "--sim", "--port", "0"], { cwd, env: { TMPDIR: `${cwd}/missing` } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cannot load the native addon`);
    expect(r.stderr).toContain(`into $TMPDIR (${cwd}/missing)`);
  });

  test("a device that cannot connect at start-up", async () => {
    const r = await fails(
      {
        "lab.yaml":
          "devices:\n  dmm:\n    type: ScpiInstrument\n    params: { resource: 'TCPIP0::127.0.0.1::1::SOCKET', timeoutMs: 500 }\n    connect: true\n",
      },
      ["--config", "lab.yaml"],
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/lab\.yaml:2:3: device 'dmm' \(ScpiInstrument\) failed to connect: .*(refused|connect)/i);
  });
});
