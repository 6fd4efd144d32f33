// Cross-check with pyvisa + pyvisa-py: the simulators must speak the real protocols, not just ours.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { servePty, type PtySim } from "../../drivers/sim/scpi/serialPty.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { dmm } from "../support/simDevices.ts";
import { pythonHas, pythonWithPyvisa, pyvisaClient } from "../support/pyvisa.ts";

const python = pythonWithPyvisa();
const serial = python !== null && pythonHas(python, "serial");
if (python && !serial)
  console.log("pyvisa cross-check over the pty skipped: pyserial is missing (apt install python3-serial)");
if (!python)
  console.log(
    "pyvisa cross-check skipped: no python3 can import pyvisa and pyvisa_py (apt install python3-pyvisa python3-pyvisa-py)",
  );

describe.skipIf(!python)("pyvisa-py talks to the simulators", () => {
  let socketSim: SocketSimServer;
  let vxiSim: Vxi11Sim;
  let ptySim: PtySim;
  beforeAll(async () => {
    socketSim = new SocketSimServer(new SimulatedInstrument(dmm));
    vxiSim = await serveVxi11(new SimulatedInstrument(dmm), "pyvisa0");
    ptySim = await servePty(new SimulatedInstrument(dmm));
  });
  afterAll(async () => {
    socketSim.close();
    await vxiSim.close();
    await ptySim.close();
  });

  test("*IDN? and binary blocks over a raw socket, VXI-11 and a pty", async () => {
    // Spawned asynchronously: the simulators answer from this process's event loop.
    const resources = [socketSim.resource, vxiSim.resource, ...(serial ? [ptySim.resource] : [])];
    const proc = Bun.spawn([python!, pyvisaClient, "check", ...resources], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.resource)).toEqual(resources);
    for (const l of lines) {
      expect(l.idn).toBe("LabDaemon,SimDMM,0001,1.0");
      expect(l.block).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(l.ints).toEqual([-3, -2, -1, 0, 1, 2, 3, 32767]);
    }
  }, 30_000);
});
