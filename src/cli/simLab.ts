// The built-in simulated lab: what `labdaemon serve --sim` (and `npm start`) serves when no
// configuration is found — a tunable laser lighting a ring resonator in front of a power meter, a DAQ
// streaming through the native sample ring, and a SCPI multimeter reached over a real TCP socket
// through the native I/O threads (its simulator runs in the same process). Written like a TypeScript
// lab configuration, so it is also an example of one.
import type { LabDaemon } from "../index.ts";
import { serveSimulators, type DeviceDef } from "../../drivers/sim/scpi/index.ts";

export const SIM_LAB_LABEL = "(built-in simulated lab)";

const dmm: DeviceDef = {
  eom: { q: "\n", r: "\n" },
  error: "ERROR",
  dialogues: [{ q: "*IDN?", r: "LabDaemon,SimDMM,0001,1.0" }, { q: "*RST" }, { q: "*CLS" }, { q: "*OPC?", r: "1" }],
  properties: {
    voltage: {
      default: 1.5,
      getter: { q: "MEAS:VOLT?", r: "{:.6f}" },
      setter: { q: "SOUR:VOLT {}" },
      specs: { min: -10, max: 10, type: "float" },
    },
    points: {
      default: 1000,
      getter: { q: "TRAC:POIN?", r: "{:d}" },
      setter: { q: "TRAC:POIN {}" },
      specs: { min: 1, max: 100_000, type: "int" },
    },
  },
  blocks: [{ q: "TRAC:DATA?", datatype: "float32", length: "points", values: "sine" }],
};

export const simLab = {
  name: "Simulated lab",
  description:
    "SimLaser → ring resonator (dip at 1550.5 nm) → SimPowerMeter; SimDaq streaming a 50 Hz sine; a SCPI DMM on a local socket; SweepTask",
  devices: {
    laser1: { type: "SimLaser", params: { wavelength: 1550, power: 1, settleMs: 10 }, connect: true },
    pm1: {
      type: "SimPowerMeter",
      params: { source: "laser1", resonance: { center: 1550.5, fwhm: 0.2, depth: 0.9 } },
      connect: true,
    },
    daq1: {
      type: "SimDaq",
      params: { sampleRate: 10_000, batchSize: 500, frequency: 50, amplitude: 1, noise: 0.02 },
      connect: true,
    },
  },
  /** The DMM's address is only known once its simulator listens (on a free port). */
  async setup(daemon: LabDaemon) {
    const sims = await serveSimulators({
      devices: { dmm },
      resources: [{ device: "dmm", socket: { host: "127.0.0.1", port: 0 } }],
    });
    try {
      daemon.addDevice("dmm1", "ScpiInstrument", { resource: sims.resources[0]!.resource, timeoutMs: 2000 });
      await daemon.connectDevice("dmm1", { timeoutMs: 5000 });
    } catch (e) {
      await sims.close();
      throw e;
    }
    return () => sims.close();
  },
};
