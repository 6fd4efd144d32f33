// `labdaemon sim FILE`: simulated SCPI instruments for developing drivers and configs without hardware.
import { parseDefinition, type RunningSimulators, serveSimulators } from "../../drivers/sim/scpi/index.ts";
import { withDeadline } from "../index.ts";
import { parseFlags, UsageError } from "./args.ts";
import { readText } from "./configText.ts";
// Embedded in the executable: the example needs no file beside it.
import EXAMPLE_DEFINITION from "../../drivers/sim/scpi/example.yaml" with { type: "text" };
import { SIM_HELP } from "./help.ts";
import { isAddressInUse, PortInUseError } from "./portInUse.ts";

export async function simCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    "sim",
    argv,
    { example: { type: "boolean" } },
    { min: 0, max: 1, names: ["FILE"] },
  );
  if (values.help) {
    process.stdout.write(SIM_HELP);
    return 0;
  }
  if (values.example) {
    if (positionals.length > 0)
      throw new UsageError(
        "sim: --example takes no FILE: it prints an example definition (labdaemon sim --example > lab.yaml)",
      );
    process.stdout.write(EXAMPLE_DEFINITION);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined)
    throw new UsageError(
      "sim: missing FILE (a simulator definition, .yaml or .json; labdaemon sim --example prints one)",
    );
  // A regular file only: a FIFO or a device would block the read, or never end.
  const definition = parseDefinition(file, readText(file));
  // Before anything starts: a signal during the start stops what was started (socat included) instead of
  // killing the process and leaving it behind.
  const abort = new AbortController();
  const stopped = Promise.withResolvers<NodeJS.Signals>();
  let received: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (received) {
      console.error(`labdaemon: ${s} again, exiting now`);
      process.exit(130);
    }
    received = s;
    abort.abort();
    stopped.resolve(s);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    let sims: RunningSimulators;
    try {
      sims = await serveSimulators(definition, { signal: abort.signal });
    } catch (e) {
      // serveSimulators has stopped what it started before rejecting.
      if (received) {
        console.error(`labdaemon: ${received} during start-up, exiting`);
        return received === "SIGTERM" ? 143 : 130; // the shell's 128 + signal number, as serve's
      }
      throw startError(e, file);
    }
    for (const r of sims.resources) console.log(`${r.resource}\t${r.device}`);
    console.log("ready");
    await stopped.promise;
    // A simulator client that never hangs up must not keep the process alive.
    await withDeadline(sims.close(), 1500);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Why the simulators could not start, as the one line the user sees. */
function startError(e: unknown, file: string): Error {
  if ((e as Error)?.name === "SimDefinitionError") return e as Error;
  // A simulator that cannot start (no socat, no rpcbind, a link in a folder that does not exist, an
  // address this machine does not have) is the setup's problem: one line, not a stack.
  if (!isAddressInUse(e))
    return new SimStartError(`sim: cannot start the simulators of ${file}: ${(e as Error)?.message ?? e}`);
  const where = e.port !== undefined ? `port ${e.port} on ${e.address ?? "127.0.0.1"}` : "an address it asks for";
  return new PortInUseError(
    `sim: ${where} is already in use (another 'labdaemon sim'? stop it, or change the port in ${file}; port 0 picks a free one)`,
  );
}

/** The simulators could not be started (exit 1, one line). */
export class SimStartError extends Error {
  override name = "SimStartError";
}
