// Lets a user's device, task and config files `import … from "labdaemon"` (and "labdaemon/client"). Inside the compiled binary
// there is no node_modules to resolve that name from, so it becomes a virtual module holding the
// very objects the appliance runs with (one LabDaemon class, one set of error classes, so the
// user's `instanceof DeviceError` and the server's error mapping agree).
import { plugin } from "bun";
import { t } from "elysia";
import * as api from "../index.ts";
import * as client from "../client/index.ts";
import * as drivers from "../../drivers/index.ts";

let registered = false;

/** What `import … from "labdaemon"` gives a user file: the library, the built-in drivers and typebox's `t`. */
export const labdaemonModule: Record<string, unknown> = {
  ...api,
  ScpiInstrument: drivers.ScpiInstrument,
  SimLaser: drivers.SimLaser,
  SimPowerMeter: drivers.SimPowerMeter,
  SimDaq: drivers.SimDaq,
  SweepTask: drivers.SweepTask,
  t,
};

export function registerLabdaemonModule(): void {
  if (registered) return;
  registered = true;
  plugin({
    name: "labdaemon",
    setup(build) {
      build.module("labdaemon", () => ({ exports: labdaemonModule, loader: "object" }));
      build.module("labdaemon/client", () => ({ exports: { ...client }, loader: "object" }));
    },
  });
}
