import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigError,
  discoverConfig,
  fromObject,
  loadConfigFile,
  searchedPlaces,
  userConfigFolder,
} from "../../src/cli/config.ts";
import { findJsonSyntaxError, lineColumn } from "../../src/files/jsonSyntax.ts";
import { buildLab } from "../../src/cli/lab.ts";
import { simLab } from "../../src/cli/simLab.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-cfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(name: string, text: string): string {
  const d = join(dir, `c${n++}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, name), text);
  return join(d, name);
}
async function loadError(path: string, profile?: string): Promise<string> {
  const e = await loadConfigFile(path, profile).then(
    () => null,
    (err) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return (e as Error).message;
}

describe("discovery", () => {
  test("--config, then LABDAEMON_CONFIG, then ./lab_servers.*, then ~/.labdaemon/lab_servers.*", () => {
    const cwd = join(dir, "cwd");
    const home = join(dir, "home");
    const user = { dir: join(home, ".labdaemon"), label: "~/.labdaemon" } as const;
    mkdirSync(join(home, ".labdaemon"), { recursive: true });
    mkdirSync(cwd, { recursive: true });
    expect(discoverConfig({ cwd, user })).toBeNull();
    writeFileSync(join(home, ".labdaemon", "lab_servers.yaml"), "devices: {}\n");
    expect(discoverConfig({ cwd, user })).toEqual({
      file: join(home, ".labdaemon", "lab_servers.yaml"),
      via: "~/.labdaemon",
    });
    writeFileSync(join(cwd, "lab_servers.json"), "{}");
    expect(discoverConfig({ cwd, user })!.file).toBe(join(cwd, "lab_servers.json"));
    writeFileSync(join(cwd, "lab_servers.ts"), "export default {}");
    expect(discoverConfig({ cwd, user })!.file).toBe(join(cwd, "lab_servers.ts"));
    writeFileSync(join(cwd, "env.yaml"), "{}");
    expect(discoverConfig({ cwd, user, env: "env.yaml" })).toEqual({
      file: join(cwd, "env.yaml"),
      via: "LABDAEMON_CONFIG",
    });
    expect(discoverConfig({ cwd, user, env: "env.yaml", flag: "lab_servers.json" })!.via).toBe("--config");
  });

  test("the user's folder is %LOCALAPPDATA%\\labdaemon on Windows and ~/.labdaemon on Linux", () => {
    const windows = userConfigFolder({ LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local", HOME: "/home/ana" }, "win32");
    expect(windows).toEqual({ dir: "C:\\Users\\ana\\AppData\\Local\\labdaemon", label: "%LOCALAPPDATA%\\labdaemon" });
    expect(searchedPlaces(windows)).toBe(
      "--config, $LABDAEMON_CONFIG, .\\lab_servers.*, %LOCALAPPDATA%\\labdaemon\\lab_servers.*",
    );
    const linux = userConfigFolder({ LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local", HOME: "/home/ana" }, "linux");
    expect(linux).toEqual({ dir: "/home/ana/.labdaemon", label: "~/.labdaemon" });
    expect(searchedPlaces(linux)).toBe("--config, $LABDAEMON_CONFIG, ./lab_servers.*, ~/.labdaemon/lab_servers.*");
  });

  test("a configuration in the Windows user's folder is found there and said to come from it", () => {
    const cwd = join(dir, "win-cwd");
    // Stands for C:\Users\ana\AppData\Local\labdaemon: discovery only reads the folder it is given.
    const user = { dir: join(dir, "win-local", "labdaemon"), label: "%LOCALAPPDATA%\\labdaemon" } as const;
    mkdirSync(cwd, { recursive: true });
    mkdirSync(user.dir, { recursive: true });
    writeFileSync(join(user.dir, "lab_servers.yaml"), "devices: {}\n");
    // ~/.labdaemon is not looked in when the user's folder is elsewhere.
    mkdirSync(join(dir, "win-home", ".labdaemon"), { recursive: true });
    writeFileSync(join(dir, "win-home", ".labdaemon", "lab_servers.json"), "{}");
    expect(discoverConfig({ cwd, user })).toEqual({
      file: join(user.dir, "lab_servers.yaml"),
      via: "%LOCALAPPDATA%\\labdaemon",
    });
  });

  test("an explicit file that does not exist is an error, not a fallback", () => {
    expect(() => discoverConfig({ flag: "/nonexistent/lab.yaml" })).toThrow(
      /config file not found \(given by --config\)/,
    );
    expect(() => discoverConfig({ env: "/nonexistent/lab.yaml" })).toThrow(/LABDAEMON_CONFIG/);
  });
});

describe("JSON and YAML", () => {
  test("a YAML config with devices and a task list", async () => {
    const f = file(
      "lab.yaml",
      "name: Bench\nport: 5100\ndevices:\n  laser1:\n    type: SimLaser\n    params: { wavelength: 1551 }\n    connect: true\ntasks: [SweepTask]\n",
    );
    const c = await loadConfigFile(f);
    expect(c.config).toMatchObject({
      name: "Bench",
      port: 5100,
      tasks: ["SweepTask"],
      devices: { laser1: { type: "SimLaser", params: { wavelength: 1551 }, connect: true } },
    });
  });

  test("JSON syntax errors point at line and column", async () => {
    expect(await loadError(file("a.json", '{\n  "port": 5000\n  "devices": {}\n}\n'))).toMatch(
      /a\.json:3:3: invalid JSON: expected ',' or '}'/,
    );
    expect(await loadError(file("b.json", '{\n  "devices": {\n    "a": { "type": "SimLaser", },\n  }\n}\n'))).toMatch(
      /b\.json:3:32: invalid JSON: trailing comma/,
    );
    expect(await loadError(file("c.json", '{\n  "port": 5000,\n'))).toMatch(
      /c\.json:3:1: invalid JSON: expected a quoted property name, found the end of the file/,
    );
  });

  test("YAML syntax errors point at the line", async () => {
    expect(await loadError(file("a.yaml", "port: 5000\ndevices:\n  laser1: { type: SimLaser\n"))).toMatch(
      /a\.yaml:\d+:\d+: invalid YAML/,
    );
  });

  test("schema errors name the key and its line", async () => {
    expect(await loadError(file("a.yaml", "port: 5000\ndevcies: {}\n"))).toMatch(/a\.yaml:2:1: devcies unknown key/);
    expect(await loadError(file("b.yaml", "port: high\n"))).toMatch(/b\.yaml:1:1: port must be an integer/);
    expect(
      await loadError(file("c.json", '{\n  "devices": {\n    "l1": { "type": "SimLaser", "conect": true }\n  }\n}')),
    ).toMatch(/c\.json:3:33: devices\.l1\.conect unknown key/);
    expect(await loadError(file("d.yaml", "setup: 3\n"))).toMatch(/only possible in a TypeScript config/);
    // A host is checked as --host is: a port in it is the file's mistake at its line, not a failed listen.
    expect(await loadError(file("e.yaml", "name: x\nhost: localhost:5000\n"))).toMatch(
      /e\.yaml:2:1: host must be an IP address or a host name \(no port: that is 'port'\)/,
    );
  });

  test("a '__proto__' key anywhere is refused at its line, so no config can swap a prototype", async () => {
    expect(
      await loadError(file("a.yaml", "devices:\n  laser1:\n    type: SimLaser\n  __proto__:\n    type: SimLaser\n")),
    ).toMatch(/a\.yaml:4:3: devices\.__proto__: '__proto__' is not allowed as a key/);
    expect(
      await loadError(
        file(
          "b.json",
          '{\n  "devices": {\n    "l1": { "type": "SimLaser",\n      "params": { "__proto__": { "polluted": 1 } } }\n  }\n}',
        ),
      ),
    ).toMatch(/b\.json:4:19: devices\.l1\.params\.__proto__: '__proto__' is not allowed/);
    expect(
      await loadError(
        file(
          "c.yaml",
          "configs:\n  a:\n    tasks: [x]\n    devices:\n      d: { type: SimLaser, params: { list: [{ __proto__: 1 }] } }\n",
        ),
      ),
    ).toMatch(/c\.yaml:5:\d+: configs\.a\.devices\.d\.params\.list\.0\.__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("an unknown device type names the file, line and the known types", async () => {
    const f = file("lab.yaml", "devices:\n  laser1:\n    type: SimLaser\n  mystery:\n    type: FluxCapacitor\n");
    const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /lab\.yaml:5:5: device 'mystery': unknown device type 'FluxCapacitor' \(known: ScpiInstrument, SimLaser/,
    );
  });

  test("a device whose parameters its driver refuses is reported at its entry", async () => {
    const f = file(
      "lab.json",
      '{\n  "devices": {\n    "laser1": { "type": "SimLaser", "params": { "wavelength": 99 } }\n  }\n}',
    );
    const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
    expect(e.message).toMatch(/lab\.json:3:5: device 'laser1': .*wavelength 99 nm is outside/);
  });

  test("an unknown built-in task type is refused", async () => {
    const f = file("lab.yaml", "tasks:\n  - SweepTask\n  - Calibrate\n");
    const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
    expect(e.message).toMatch(/lab\.yaml:3:5: unknown task type 'Calibrate'/);
  });

  test("a task type named after an Object.prototype member is unknown, not that member", async () => {
    for (const name of ["toString", "constructor", "__proto__"]) {
      const f = file("lab.yaml", `tasks:\n  - ${name}\n`);
      const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(new RegExp(`lab\\.yaml:2:5: unknown task type '${name}'`));
    }
  });
});

describe("profiles", () => {
  const text = "configs:\n  mock:\n    name: Mock\n    port: 5001\n  real:\n    name: Real\n    port: 5002\n";
  test("--profile picks one; without it several profiles are an error that lists them", async () => {
    const f = file("lab_servers.yaml", text);
    const c = await loadConfigFile(f, "real");
    expect(c.profile).toBe("real");
    expect(c.config.port).toBe(5002);
    expect(await loadError(f)).toMatch(/holds several profiles \(mock, real\): choose one with --profile/);
    expect(await loadError(f, "lab")).toMatch(/has no profile 'lab' \(profiles: mock, real\)/);
  });

  test("'default' chooses when --profile is absent; errors inside a profile point into it", async () => {
    const c = await loadConfigFile(file("p.yaml", `default: mock\n${text}`));
    expect(c.config.name).toBe("Mock");
    expect(await loadError(file("q.yaml", "configs:\n  mock:\n    port: -1\n"))).toMatch(
      /q\.yaml:3:5: configs\.mock\.port must be an integer/,
    );
  });

  test("--profile on a single-configuration file is an error", async () => {
    expect(await loadError(file("s.yaml", "port: 5000\n"), "mock")).toMatch(/holds one configuration/);
  });
});

describe("TypeScript configs", () => {
  test('register device and task classes from files beside the config that import "labdaemon"', async () => {
    const f = file(
      "lab_servers.ts",
      `
import { Thermometer } from "./thermometer.ts";
export default {
  name: "Plugin lab",
  plugins: { devices: { Thermometer } },
  devices: { t1: { type: "Thermometer", params: { celsius: 21.5 }, connect: true } },
  setup(daemon) { daemon.getDeviceInstance("t1").setupRan = true; },
};
`,
    );
    writeFileSync(
      join(f, "..", "thermometer.ts"),
      `
import { DeviceError, t } from "labdaemon";
export class Thermometer {
  static methods = { read: { params: [], doc: "°C" } };
  setupRan = false;
  constructor(public deviceId: string, public params: { celsius: number }) {}
  read() { if (this.params.celsius < -273.15) throw new DeviceError("below absolute zero"); return this.params.celsius; }
  schema() { return t.Number().type; }
}
`,
    );
    const { daemon, shutdown } = await buildLab(await loadConfigFile(f));
    expect(daemon.deviceState("t1").connected).toBe(true);
    expect(await daemon.call("t1", "read")).toBe(21.5);
    expect(await daemon.call("t1", "schema")).toBe("number");
    expect((daemon.getDeviceInstance("t1") as { setupRan: boolean }).setupRan).toBe(true);
    await shutdown(2000);
  });

  test("a syntax error and a throw while loading point at the file and line", async () => {
    const bad = file("lab_servers.ts", "export default {\n  port: 5000,\n  devices: { a: { type: 'X' }\n};\n");
    expect(await loadError(bad)).toMatch(/lab_servers\.ts:4:2: Expected "}" but found ";"/);
    const throws = file("lab_servers.ts", "const x = 1;\nthrow new Error('no such instrument');\nexport default {};\n");
    expect(await loadError(throws)).toMatch(/lab_servers\.ts:2:\d+: no such instrument/);
  });

  test("a plugin that clashes with a built-in type, and an unknown type, are located by key", async () => {
    const f = file(
      "lab_servers.ts",
      "class SimLaser {}\nexport default {\n  plugins: { devices: { SimLaser } },\n};\n",
    );
    const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
    expect(e.message).toMatch(/lab_servers\.ts:3:\d+: plugin type 'SimLaser' clashes with a built-in/);
    const g = file("lab_servers.ts", "export default {\n  devices: {\n    x1: { type: 'Nope' },\n  },\n};\n");
    const e2 = await buildLab(await loadConfigFile(g)).catch((err) => err);
    expect(e2.message).toMatch(/lab_servers\.ts:3:\d+: device 'x1': unknown device type 'Nope'/);
  });
});

describe("the built-in simulated lab", () => {
  test("builds, connects and answers, its DMM through a simulator it closes at shutdown", async () => {
    const { daemon, shutdown } = await buildLab(fromObject(simLab, "sim"));
    expect(daemon.listDevices().map((d) => [d.deviceId, d.connected])).toEqual([
      ["laser1", true],
      ["pm1", true],
      ["daq1", true],
      ["dmm1", true],
    ]);
    expect(daemon.taskTypeNames()).toEqual(["SweepTask"]);
    expect(await daemon.call("laser1", "getWavelength")).toBe(1550);
    expect(await daemon.call("dmm1", "idn")).toBe("LabDaemon,SimDMM,0001,1.0");
    const resource = (daemon.getDeviceInstance("dmm1") as { resource: string }).resource;
    await shutdown(2000);
    const port = Number(/::(\d+)::SOCKET$/.exec(resource)![1]);
    // Closed: nothing listens on the simulator's port any more.
    expect(Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).rejects.toThrow();
  });

  test("a setup step's cleanup runs after the daemon has shut down", async () => {
    const order: string[] = [];
    const lab = await buildLab(
      fromObject(
        {
          devices: {},
          setup: () => () => {
            order.push("cleanup");
          },
        },
        "cfg",
      ),
    );
    lab.daemon.registerPlugins({
      devices: {
        Probe: class {
          constructor(readonly deviceId: string) {}
          disconnect() {
            order.push("disconnect");
          }
        },
      },
    });
    lab.daemon.addDevice("p1", "Probe");
    await lab.daemon.connectDevice("p1");
    await lab.shutdown(2000);
    expect(order).toEqual(["disconnect", "cleanup"]);
  });
});

describe("findJsonSyntaxError", () => {
  test("accepts valid JSON and locates bad escapes, control characters and junk after the value", () => {
    expect(findJsonSyntaxError('{"a":[1,-2.5e3,true,null,"\\u00e9\\n"]}')).toBeNull();
    expect(findJsonSyntaxError('"\\x"')).toEqual({ offset: 1, message: "bad escape in a string" });
    expect(findJsonSyntaxError('{"a":1} x')!.message).toMatch(/after the end/);
    expect(findJsonSyntaxError("[01]")!.message).toMatch(/expected ',' or ']'/);
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
