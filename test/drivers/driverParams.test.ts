// The built-in drivers' params schemas: they accept what the constructors read (every documented key)
// and refuse a misspelt one before construction; a meter whose source names no laser says so.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SimPowerMeter, SweepTask, builtinDevices, builtinTasks } from "../../drivers/index.ts";
import { ConfigError, loadConfigFile } from "../../src/cli/config.ts";
import { buildLab } from "../../src/cli/lab.ts";
import {
  DeviceConfigurationError,
  DeviceCreationError,
  LabDaemon,
  TaskInstantiationError,
  TaskParameterError,
  paramsSchemaOf,
} from "../../src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-params-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every key each constructor reads, with a valid value. */
const FULL: Record<string, Record<string, unknown>> = {
  SimLaser: { wavelength: 1555, power: 2, settleMs: 0, minWavelength: 1500, maxWavelength: 1600, maxPower: 10 },
  SimPowerMeter: {
    source: "laser1",
    resonance: { center: 1550.5, fwhm: 0.2, depth: 0.9 },
    noise: 0,
    floorMw: 1e-6,
    averagingMs: 0,
  },
  SimDaq: {
    sampleRate: 10_000,
    batchSize: 100,
    frequency: 50,
    amplitude: 1,
    offset: 0,
    noise: 0.02,
    seed: 7,
    dtype: "float32",
    overflow: "overwrite-oldest",
    ringCapacity: 4096,
  },
  ScpiInstrument: {
    resource: "TCPIP0::127.0.0.1::5025::SOCKET",
    timeoutMs: 500,
    readTermination: "\n",
    writeTermination: null,
    baudRate: 9600,
    visaLibrary: "/opt/visa.so",
  },
};
const SWEEP_FULL = { laser_id: "l", meter_id: "m", start_wl: 1549, stop_wl: 1552, steps: 31, dwell_ms: 0, power_mw: 1 };

function daemonWithBuiltins(): LabDaemon {
  const d = new LabDaemon();
  d.registerPlugins({ devices: builtinDevices, tasks: builtinTasks });
  return d;
}

describe("built-in params schemas", () => {
  test("every built-in device and task declares one", () => {
    for (const cls of [...Object.values(builtinDevices), ...Object.values(builtinTasks)])
      expect(paramsSchemaOf(cls)).not.toBeNull();
  });

  test("each accepts every key its constructor reads", async () => {
    const d = daemonWithBuiltins();
    for (const [type, params] of Object.entries(FULL)) {
      expect(paramsSchemaOf(builtinDevices[type]!)!.errors(params)).toEqual([]);
      d.addDevice(`full-${type}`, type, params);
    }
    expect(paramsSchemaOf(SweepTask)!.errors(SWEEP_FULL)).toEqual([]);
    await d.shutdown();
  });

  test("each refuses a misspelt key before construction, suggesting the right one", async () => {
    const d = daemonWithBuiltins();
    const typos: [string, Record<string, unknown>, string][] = [
      ["SimLaser", { wavelenght: 1560 }, "params.wavelenght: unknown parameter (did you mean 'wavelength'?"],
      ["SimPowerMeter", { sorce: "laser1" }, "params.sorce: unknown parameter (did you mean 'source'?"],
      [
        "SimPowerMeter",
        { resonance: { centre: 1550 } },
        "params.resonance.centre: unknown parameter (did you mean 'center'? known: center, fwhm, depth)",
      ],
      ["SimDaq", { samplerate: 1000 }, "params.samplerate: unknown parameter (did you mean 'sampleRate'?"],
      [
        "SimDaq",
        { dtype: "float16" },
        'params.dtype: Expected one of "float32", "float64", "int16", "int32", got "float16"',
      ],
      ["ScpiInstrument", { resource: "GPIB0::1::INSTR", timeout: 500 }, "params.timeout: unknown parameter"],
      ["ScpiInstrument", {}, "params.resource: required parameter is missing"],
    ];
    for (const [type, params, why] of typos) {
      const e = (() => {
        try {
          d.addDevice("typo", type, params);
        } catch (err) {
          return err as Error;
        }
      })();
      expect(e).toBeInstanceOf(DeviceCreationError);
      expect(e!.message).toStartWith(`Failed to create device 'typo' of type '${type}': ${why}`);
      expect(d.hasDevice("typo")).toBe(false);
    }
    expect(() => d.executeTask("sw", "SweepTask", { stepz: 5 })).toThrow(TaskInstantiationError);
    expect(d.hasTask("sw")).toBe(false);
    await d.shutdown();
  });

  test("a lab configuration with a misspelt device param fails at that device's entry", async () => {
    const f = join(dir, "lab.yaml");
    writeFileSync(f, "devices:\n  laser1:\n    type: SimLaser\n    params: { wavelenght: 1560 }\n");
    const e = await buildLab(await loadConfigFile(f)).catch((err) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /lab\.yaml:2:3: device 'laser1': .*params\.wavelenght: unknown parameter \(did you mean 'wavelength'\? known: wavelength, power/,
    );
  });
});

describe("SimPowerMeter source", () => {
  test("a source naming no laser fails at the first read, naming it; a laser that exists but is off reads darkness", async () => {
    const d = daemonWithBuiltins();
    d.addDevice("pm-orphan", "SimPowerMeter", { source: "laser-nowhere-9", averagingMs: 0 });
    await d.connectDevice("pm-orphan");
    const err = await d
      .getDevice<SimPowerMeter>("pm-orphan")
      .readPower()
      .catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toBe(
      "SimPowerMeter 'pm-orphan': no SimLaser 'laser-nowhere-9' exists (params.source must name the laser whose light reaches this meter)",
    );
    expect(err.context).toEqual({ device_id: "pm-orphan", source: "laser-nowhere-9" });
    d.addDevice("laser-dark-1", "SimLaser", {});
    d.addDevice("pm-dark", "SimPowerMeter", { source: "laser-dark-1", averagingMs: 0, noise: 0 });
    await d.connectDevice("pm-dark");
    expect(await d.getDevice<SimPowerMeter>("pm-dark").readPower()).toBeCloseTo(1e-6, 9);
    await d.shutdown();
  });
});

describe("SweepTask devices and parameters", () => {
  test("laser and meter swapped fail at executeTask, before any device is driven", async () => {
    const d = daemonWithBuiltins();
    d.addDevice("sw-laser", "SimLaser", { settleMs: 0 });
    d.addDevice("sw-pm", "SimPowerMeter", { source: "sw-laser", averagingMs: 0 });
    const e = (() => {
      try {
        d.executeTask("sw", "SweepTask", { laser_id: "sw-pm", meter_id: "sw-laser", power_mw: 2 });
      } catch (err) {
        return err as TaskInstantiationError;
      }
    })();
    expect(e).toBeInstanceOf(TaskInstantiationError);
    expect(e!.context.missing_methods).toEqual([
      { device_id: "sw-pm", device_type: "SimPowerMeter", methods: ["setWavelength", "enableOutput", "setPower"] },
      { device_id: "sw-laser", device_type: "SimLaser", methods: ["readPower"] },
    ]);
    expect(d.listTasks()).toEqual([]);
    await d.shutdown();
  });

  test("one device serving as laser and meter needs every method on it", () => {
    const sweep = new SweepTask("x", { laser_id: "both", meter_id: "both" });
    expect(sweep.requiredMethods).toEqual({ both: ["setWavelength", "enableOutput", "readPower"] });
  });

  test("an unknown key is a TaskParameterError listing the keys it knows", () => {
    const sweep = new SweepTask("x", {});
    expect(() => sweep.getParameter("dwel_ms")).toThrow(TaskParameterError);
    expect(() => sweep.getParameter("dwel_ms")).toThrow(
      "SweepTask 'x' has no parameter 'dwel_ms' (known: dwell_ms, points_done, steps, start_wl, stop_wl)",
    );
    const e = (() => {
      try {
        sweep.setParameter("steps", 3);
      } catch (err) {
        return err as TaskParameterError;
      }
    })();
    expect(e!.context).toEqual({ task_id: "x", key: "steps", known: ["dwell_ms"] });
  });
});
