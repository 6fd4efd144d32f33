// The built-in drivers: what a JSON or YAML lab configuration can name by type, no code needed; and the
// simulated ADC behind SimDaq (SyntheticSource), for code that feeds a SampleRing itself.
import type { DeviceClass, TaskClass } from "../src/index.ts";
import { ScpiInstrument } from "./scpiInstrument.ts";
import { SimDaq } from "./sim/daq.ts";
import { SimLaser } from "./sim/laser.ts";
import { SimPowerMeter } from "./sim/powerMeter.ts";
import { SweepTask } from "./sweepTask.ts";

export { ScpiInstrument, SimDaq, SimLaser, SimPowerMeter, SweepTask };
export { SyntheticSource, type SyntheticSourceParams, type SyntheticSourceStats } from "./sim/syntheticSource.ts";

export const builtinDevices: Record<string, DeviceClass> = { ScpiInstrument, SimLaser, SimPowerMeter, SimDaq };
export const builtinTasks: Record<string, TaskClass> = { SweepTask };
