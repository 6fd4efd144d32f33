// The built-in drivers: what a JSON or YAML lab configuration can name by type, no code needed.
import type { DeviceClass, TaskClass } from "../src/index.ts";
import { ScpiInstrument } from "./scpiInstrument.ts";
import { SimDaq } from "./sim/daq.ts";
import { SimLaser } from "./sim/laser.ts";
import { SimPowerMeter } from "./sim/powerMeter.ts";
import { SweepTask } from "./sweepTask.ts";

export { ScpiInstrument, SimDaq, SimLaser, SimPowerMeter, SweepTask };

export const builtinDevices: Record<string, DeviceClass> = { ScpiInstrument, SimLaser, SimPowerMeter, SimDaq };
export const builtinTasks: Record<string, TaskClass> = { SweepTask };
