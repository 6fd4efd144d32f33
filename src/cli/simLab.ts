// The built-in simulated lab: what `labdaemon serve --sim` (and `npm start`) serves when no
// configuration is found — a tunable laser lighting a ring resonator in front of a power meter, and a
// DAQ streaming through the native sample ring. Written in the JSON/YAML config's own shape, so it is
// also the example of one.
export const SIM_LAB_LABEL = "(built-in simulated lab)";

export const simLab = {
  name: "Simulated lab",
  description: "SimLaser → ring resonator (dip at 1550.5 nm) → SimPowerMeter; SimDaq streaming a 50 Hz sine; SweepTask",
  devices: {
    laser1: { type: "SimLaser", params: { wavelength: 1550, power: 1, settleMs: 10 }, connect: true },
    pm1: { type: "SimPowerMeter", params: { source: "laser1", resonance: { center: 1550.5, fwhm: 0.2, depth: 0.9 } }, connect: true },
    daq1: { type: "SimDaq", params: { sampleRate: 10_000, batchSize: 500, frequency: 50, amplitude: 1, noise: 0.02 }, connect: true },
  },
};
