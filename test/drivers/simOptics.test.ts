import { describe, expect, test } from "bun:test";
import { SimLaser } from "../../drivers/sim/laser.ts";
import { SimPowerMeter } from "../../drivers/sim/powerMeter.ts";
import { SweepTask, type SweepResult } from "../../drivers/sweepTask.ts";
import {
  DeviceConfigurationError,
  DeviceNotConnectedError,
  DeviceOperationError,
  LabDaemon,
  TaskCancelledError,
} from "../../src/index.ts";
import { until } from "../support/fixtures.ts";

/** A daemon holding a connected laser and meter under unique ids (the simulated fibre is process-wide). */
async function bench(tag: string, laser: Record<string, unknown> = {}, meter: Record<string, unknown> = {}) {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { SimLaser, SimPowerMeter }, tasks: { SweepTask } });
  const laserId = `laser-${tag}`;
  const meterId = `pm-${tag}`;
  daemon.addDevice(laserId, "SimLaser", { settleMs: 1, ...laser });
  daemon.addDevice(meterId, "SimPowerMeter", { source: laserId, averagingMs: 0, noise: 0, ...meter });
  await daemon.connectDevice(laserId);
  await daemon.connectDevice(meterId);
  return {
    daemon,
    laserId,
    meterId,
    laser: daemon.getDevice<SimLaser>(laserId),
    meter: daemon.getDevice<SimPowerMeter>(meterId),
  };
}

describe("SimLaser", () => {
  test("tuning takes the settling time and is refused outside the tuning range", async () => {
    const laser = new SimLaser("l", { settleMs: 30 });
    laser.connect();
    const t0 = performance.now();
    expect(await laser.setWavelength(1551.25)).toBe(1551.25);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(laser.getWavelength()).toBe(1551.25);
    expect(laser.setWavelength(1700)).rejects.toBeInstanceOf(DeviceOperationError);
    expect(laser.setPower(-1)).rejects.toBeInstanceOf(DeviceOperationError);
    expect(laser.getWavelength()).toBe(1551.25);
    laser.disconnect();
  });

  test("a disconnected laser refuses to tune; bad parameters fail at construction", () => {
    const laser = new SimLaser("l2");
    expect(laser.setWavelength(1550)).rejects.toBeInstanceOf(DeviceNotConnectedError);
    expect(() => new SimLaser("l3", { wavelength: 1400 })).toThrow(DeviceOperationError);
    expect(() => new SimLaser("l4", { settleMs: "fast" as unknown as number })).toThrow(DeviceConfigurationError);
  });

  test("publishes a typebox schema per remote method", () => {
    expect(Object.keys(SimLaser.methods)).toContain("setWavelength");
    expect(SimLaser.methods.setWavelength.params.nm).toMatchObject({ type: "number", minimum: 1480, maximum: 1640 });
  });
});

describe("SimPowerMeter", () => {
  test("reads the laser's light through the resonance: the dip is at its centre", async () => {
    const { daemon, laser, meter } = await bench(
      "dip",
      { power: 2 },
      { resonance: { center: 1550.5, fwhm: 0.2, depth: 0.9 } },
    );
    expect(await meter.readPower()).toBeCloseTo(1e-6, 9); // shutter closed: only the dark floor
    await laser.enableOutput(true);
    await laser.setWavelength(1545);
    const off = await meter.readPower();
    await laser.setWavelength(1550.5);
    const on = await meter.readPower();
    expect(off).toBeGreaterThan(1.99);
    expect(on).toBeCloseTo(2 * 0.1, 3);
    expect(await meter.readPowerDbm()).toBeCloseTo(10 * Math.log10(on), 3);
    await daemon.shutdown();
  });

  test("an unreadable resonance is a configuration error", () => {
    expect(() => new SimPowerMeter("p", { resonance: { depth: 2 } })).toThrow(DeviceConfigurationError);
    expect(() => new SimPowerMeter("p", { resonance: { fwhm: 0 } })).toThrow(DeviceConfigurationError);
  });
});

describe("SweepTask", () => {
  test("a sweep across the resonance finds its centre and reports progress to the end", async () => {
    const { daemon, laserId, meterId } = await bench("sweep");
    const fractions: number[] = [];
    daemon.on("task", (e) => {
      if (e.kind === "progress") fractions.push((e as { progress: { fraction: number } }).progress.fraction);
    });
    const h = daemon.executeTask("s1", "SweepTask", {
      laser_id: laserId,
      meter_id: meterId,
      start_wl: 1550,
      stop_wl: 1551,
      steps: 21,
    });
    expect(h.deviceIds).toEqual([laserId, meterId]);
    const r = (await h.wait({ timeoutMs: 10_000 })) as SweepResult;
    expect(r.complete).toBe(true);
    expect(r.wavelengths).toHaveLength(21);
    expect(r.wavelengths[0]).toBe(1550);
    expect(r.wavelengths[20]).toBe(1551);
    expect(r.minimum!.wavelength).toBe(1550.5);
    expect(fractions.at(-1)).toBe(1);
    expect(h.status).toBe("completed");
    await daemon.shutdown();
  });

  test("pauses between points, resumes, and a cancelled sweep keeps its points", async () => {
    const { daemon, laserId, meterId } = await bench("pause");
    let h!: ReturnType<typeof daemon.executeTask>;
    // Pausing from the progress event of point 3 lands before the loop's next checkpoint: exactly 3 points.
    const off = daemon.on("task", (e) => {
      if (e.kind === "progress" && e.taskId === "s2" && h.progress.fraction === 3 / 1000) h.pause();
    });
    h = daemon.executeTask("s2", "SweepTask", { laser_id: laserId, meter_id: meterId, steps: 1000, dwell_ms: 2 });
    await until(() => h.isPaused(), 5000, "pause at point 3");
    off();
    await new Promise((r) => setTimeout(r, 50)); // absence of progress can only be observed over time
    expect(await h.getParameter("points_done")).toBe(3);
    expect(h.resume()).toBe(true);
    await until(() => h.progress.fraction * 1000 > 6, 5000, "progress after resume");
    h.cancel();
    const err = await h.wait({ timeoutMs: 20_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    const partial = (err as TaskCancelledError).result as SweepResult;
    expect(partial.complete).toBe(false);
    expect(partial.wavelengths.length).toBeGreaterThan(3);
    expect(partial.wavelengths.length).toBe(partial.powers.length);
    expect(h.result).toEqual(partial);
    await daemon.shutdown();
  });

  test("dwell_ms can be changed while running; other parameters are refused", async () => {
    const { daemon, laserId, meterId } = await bench("dwell");
    const h = daemon.executeTask("s3", "SweepTask", { laser_id: laserId, meter_id: meterId, steps: 5, dwell_ms: 1000 });
    expect(await h.getParameter("dwell_ms")).toBe(1000);
    // With the original dwell the sweep would take 5 s; the wait below only allows it after the change.
    expect(await h.setParameter("dwell_ms", 1)).toBe(1);
    await until(() => h.progress.fraction > 0, 3000, "first point");
    expect(h.setParameter("steps", 3)).rejects.toThrow(/only dwell_ms/);
    expect(h.setParameter("dwell_ms", -5)).rejects.toBeInstanceOf(RangeError);
    await h.wait({ timeoutMs: 20_000 }); // a hang guard
    expect(h.status).toBe("completed");
    await daemon.shutdown();
  });

  test("power_mw sets the laser's power first; a laser that is not connected fails the sweep with its error", async () => {
    const { daemon, laserId, meterId, laser } = await bench("power");
    const before = await laser.getPower();
    const h = daemon.executeTask("s4", "SweepTask", {
      laser_id: laserId,
      meter_id: meterId,
      steps: 2,
      start_wl: 1540,
      stop_wl: 1541,
      power_mw: 5,
    });
    const r = (await h.wait({ timeoutMs: 5000 })) as SweepResult;
    expect(r.powers[0]).toBeGreaterThan(4.9);
    expect(await laser.getPower()).toBe(before); // put back after the sweep
    await daemon.disconnectDevice(laserId);
    const failed = daemon.executeTask("s5", "SweepTask", { laser_id: laserId, meter_id: meterId, steps: 2 });
    const err = await failed.wait({ timeoutMs: 5000 }).catch((e) => e);
    expect(failed.status).toBe("failed");
    expect((err as Error).cause).toBeInstanceOf(DeviceNotConnectedError);
    await daemon.shutdown();
  });

  test("the laser's output, power and wavelength are put back after a completed and after a cancelled sweep", async () => {
    const { daemon, laserId, meterId, laser } = await bench("restore", { wavelength: 1555, power: 2 });
    const done = daemon.executeTask("r1", "SweepTask", {
      laser_id: laserId,
      meter_id: meterId,
      steps: 3,
      start_wl: 1540,
      stop_wl: 1541,
      power_mw: 4,
    });
    expect(((await done.wait({ timeoutMs: 5000 })) as SweepResult).complete).toBe(true);
    expect(await laser.getStatus()).toMatchObject({ output: false, wavelength: 1555, power: 2 });

    const cancelled = daemon.executeTask("r2", "SweepTask", {
      laser_id: laserId,
      meter_id: meterId,
      steps: 1000,
      dwell_ms: 5,
    });
    await until(() => cancelled.progress.fraction > 0, 5000, "the sweep to measure a point");
    expect(await laser.isOutputEnabled()).toBe(true);
    cancelled.cancel();
    const err = await cancelled.wait({ timeoutMs: 5000 }).catch((e) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    expect(await laser.getStatus()).toMatchObject({ output: false, wavelength: 1555, power: 2 });

    // A laser whose output was on before the sweep has it on again after.
    await laser.enableOutput(true);
    await daemon
      .executeTask("r3", "SweepTask", { laser_id: laserId, meter_id: meterId, steps: 2 })
      .wait({ timeoutMs: 5000 });
    expect(await laser.getStatus()).toMatchObject({ output: true, wavelength: 1555, power: 2 });
    await daemon.shutdown();
  });

  test("bad sweep parameters fail at construction", () => {
    expect(() => new SweepTask("x", { steps: 0 })).toThrow(RangeError);
    expect(() => new SweepTask("x", { start_wl: Number.NaN })).toThrow(TypeError);
  });
});
