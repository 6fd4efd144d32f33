// dist/labdaemon.exe under wine (`npm run test:windows`, which builds it first): the executable starts,
// serves the simulated lab on loopback, loads its addon (the simulated DAQ streams through it), reaches a
// simulator on the Linux side over a socket, loads a VISA library with LoadLibrary, lists COM ports, and
// refuses to pose as a service outside the Service Control Manager, and finds the configuration in
// %LOCALAPPDATA%\\labdaemon.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { readEvents } from "../e2e/support.ts";
import { dmm } from "../support/simDevices.ts";
import {
  keepWineUp,
  linuxPath,
  prepare,
  runExe,
  runWine,
  SCRATCH,
  shutDownWine,
  startExe,
  wineMissing,
  type Started,
} from "./wine.ts";

// Wine starts slowly (seconds per process; a new prefix ~15 s): generous bounds, never speed checks.
const WINE_MS = 180_000;
const missing = wineMissing();

describe.skipIf(process.env.LABDAEMON_TEST_WINDOWS !== "1" || missing !== null)("labdaemon.exe under wine", () => {
  beforeAll(async () => {
    await prepare();
    // One wineserver for the whole file: one that exits a few seconds after each program ends can race
    // the next program's start ("wine client error: recvmsg: Connection reset by peer", seen under load).
    await keepWineUp();
  }, WINE_MS);
  afterAll(async () => {
    await shutDownWine();
  }, WINE_MS);

  test(
    "--version",
    async () => {
      const r = await runExe(["--version"]);
      expect(r.stdout.trim()).toBe(`labdaemon ${pkg.version}`);
      expect(r.exitCode).toBe(0);
    },
    WINE_MS,
  );

  describe("serve --sim", () => {
    let server: Started;
    let url: string;
    beforeAll(async () => {
      server = await startExe(["serve", "--sim", "--port", "0"], /on (http:\/\/127\.0\.0\.1:\d+)/);
      url = server.match[1]!;
    }, WINE_MS);
    afterAll(async () => {
      await server?.stop();
    }, WINE_MS);

    test(
      "answers /health and /devices on loopback",
      async () => {
        const health = await fetch(`${url}/health`);
        expect(health.status).toBe(200);
        expect(((await health.json()) as { status: string }).status).toBe("healthy");
        const devices = (await (await fetch(`${url}/devices`)).json()) as { devices: { device_id: string }[] };
        expect(devices.devices.map((d) => d.device_id).sort()).toEqual(["daq1", "dmm1", "laser1", "pm1"]);
      },
      WINE_MS,
    );

    test(
      "the simulated DAQ streams through the addon: three SSE events of 500 samples",
      async () => {
        const controller = new AbortController();
        const res = await fetch(`${url}/stream/devices/daq1`, { signal: controller.signal });
        expect(res.status).toBe(200);
        const events = await readEvents(res, (e) => e.length >= 3, controller, 60_000);
        for (const e of events.slice(0, 3)) expect(e.payload).toHaveLength(500);
        expect(events[1].sequence).toBeGreaterThan(events[0].sequence);
      },
      WINE_MS,
    );

    test(
      "dmm1 answers over the socket the executable serves itself",
      async () => {
        const res = await fetch(`${url}/devices/dmm1/call`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ method: "query", args: ["*IDN?"] }),
        });
        expect(res.status).toBe(200);
        expect(JSON.stringify(await res.json())).toContain("SimDMM");
      },
      WINE_MS,
    );
  });

  describe("instruments", () => {
    let sim: SocketSimServer;
    beforeAll(() => {
      sim = new SocketSimServer(new SimulatedInstrument(dmm), { host: "127.0.0.1" });
    });
    afterAll(() => sim.close());

    test(
      "query reaches a simulator on the Linux side over a socket (the event loop's transport)",
      async () => {
        const r = await runExe(["query", sim.resource, "*IDN?"]);
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe("LabDaemon,SimDMM,0001,1.0");
        expect(r.exitCode).toBe(0);
      },
      WINE_MS,
    );

    test(
      "a VISA library loads with LoadLibrary and carries the query (the stand-in visa64.dll)",
      async () => {
        const r = await runExe(["query", sim.resource, "*IDN?"], { LABDAEMON_VISA_LIBRARY: "visa64.dll" });
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe("LabDaemon,SimDMM,0001,1.0");
      },
      WINE_MS,
    );

    test(
      "resources lists wine's COM ports as ASRLn::INSTR and what visa64.dll finds",
      async () => {
        const r = await runExe(["resources"]);
        const lines = r.stdout.trim().split(/\r?\n/);
        expect(lines.some((l) => /^ASRL\d+::INSTR$/.test(l))).toBe(true);
        expect(lines).toContain("USB0::0x0957::0x1798::MY00000001::INSTR");
        expect(lines).toContain("GPIB0::22::INSTR");
        expect(r.exitCode).toBe(0);
      },
      WINE_MS,
    );

    test(
      "a COM port that does not exist is a connection error naming it",
      async () => {
        const r = await runExe(["query", "ASRL42::INSTR", "*IDN?"]);
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toContain("COM42");
      },
      WINE_MS,
    );
  });

  test(
    "the launcher's Stop shuts a server down gracefully through its stop file (exit 0, the server's own shutdown), not TerminateProcess",
    async () => {
      const folder = join(SCRATCH, "launcher-lab");
      mkdirSync(folder, { recursive: true });
      const config = join(folder, "lab_servers.yaml");
      writeFileSync(
        config,
        "configs:\n  alpha:\n    port: 0\n    devices:\n      laser1: { type: SimLaser, connect: true }\n",
      );
      const launcher = await startExe(
        ["launcher", "--no-open", "--port", "0", "--config", `Z:${config.split("/").join("\\")}`],
        /(http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/,
      );
      const [, base, secret] = launcher.match as unknown as [string, string, string];
      const api = async (method: string, path: string) => {
        const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${secret}` } });
        return { status: res.status, body: (await res.json()) as any };
      };
      try {
        expect((await api("POST", "/api/profiles/alpha/start")).status).toBe(202);
        let state = "";
        for (const end = Date.now() + WINE_MS / 2; state !== "healthy" && Date.now() < end; await Bun.sleep(250)) {
          state = (await api("GET", "/api/profiles/alpha")).body.state;
          if (state === "crashed") throw new Error(JSON.stringify((await api("GET", "/api/profiles/alpha")).body));
        }
        expect(state).toBe("healthy");
        const stopped = await api("POST", "/api/profiles/alpha/stop");
        // TerminateProcess would leave another exit code, and only after the 3 s grace.
        expect(stopped.body).toMatchObject({ state: "stopped", exit_code: 0 });
      } finally {
        await launcher.stop();
      }
      expect(launcher.output()).not.toContain("no exit within");
    },
    WINE_MS,
  );

  test(
    "service install --print shows the sc.exe command; serve --windows-service outside the SCM says so",
    async () => {
      const printed = await runExe(["service", "install", "--sim", "--print"]);
      expect(printed.exitCode).toBe(0);
      expect(printed.stdout).toMatch(
        /^sc\.exe create labdaemon binPath= "[^ "]*\\labdaemon\.exe serve --sim --log-file .*\\labdaemon\\logs\\labdaemon\.log --windows-service labdaemon" start= auto/m,
      );
      const served = await runExe(["serve", "--sim", "--port", "0", "--windows-service", "labdaemon"]);
      expect(served.exitCode).toBe(1);
      expect(served.stderr).toContain("not started by the Service Control Manager");
    },
    WINE_MS,
  );

  test(
    "with nothing in the current folder, the configuration is found in %LOCALAPPDATA%\\labdaemon",
    async () => {
      const local = (await runWine(["cmd.exe", "/c", "echo %LOCALAPPDATA%"])).stdout.trim();
      const folder = join(linuxPath(local), "labdaemon");
      mkdirSync(folder, { recursive: true });
      const file = join(folder, "lab_servers.json");
      writeFileSync(file, JSON.stringify({ name: "from LOCALAPPDATA", devices: {} }));
      try {
        const r = await runExe(["profiles"]);
        expect(r.stdout).toContain("\\AppData\\Local\\labdaemon\\lab_servers.json (via %LOCALAPPDATA%\\labdaemon)");
        expect(r.exitCode).toBe(0);
      } finally {
        rmSync(file);
      }
    },
    WINE_MS,
  );
});

test.skipIf(process.env.LABDAEMON_TEST_WINDOWS !== "1" || missing === null)("wine test prerequisites", () => {
  throw new Error(`npm run test:windows cannot run: ${missing}`);
});
