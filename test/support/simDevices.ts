// Simulated instruments shared by the io tests and benches.
import type { DeviceDef } from "../../drivers/sim/scpi/definition.ts";

export const dmm: DeviceDef = {
  eom: { q: "\n", r: "\n" },
  error: "ERROR",
  dialogues: [{ q: "*IDN?", r: "LabDaemon,SimDMM,0001,1.0" }, { q: "*RST" }, { q: "READ?", r: "1.25,2.5,-3.75" }],
  properties: {
    voltage: {
      default: 1.5,
      getter: { q: "VOLT?", r: "{:.3f}" },
      setter: { q: "VOLT {}" },
      specs: { min: 0, max: 10, type: "float" },
    },
    points: {
      default: 16,
      getter: { q: "POIN?", r: "{:d}" },
      setter: { q: "POIN {}" },
      specs: { type: "int", min: 1, max: 1 << 20 },
    },
  },
  blocks: [
    { q: "CURV?", datatype: "float32", length: "points", values: "ramp" },
    { q: "CURV:BE?", datatype: "float32", bigEndian: true, length: 8, values: "ramp" },
    { q: "WAV:I16?", datatype: "int16", bigEndian: true, length: 8, values: [-3, -2, -1, 0, 1, 2, 3, 32767] },
    { q: "WAV:F64?", datatype: "float64", length: 4, values: [0.5, -1.25, 1e-9, 3e12] },
    { q: "FETC?", datatype: "float32", length: 256, values: "counter" },
  ],
  silent: ["HANG?"],
  drop: ["DROP?"],
};

/** The same instrument speaking CRLF both ways. */
export const crlfDmm: DeviceDef = { ...dmm, eom: { q: "\r\n", r: "\r\n" } };
