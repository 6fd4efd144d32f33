// Serves the resources of a simulator definition; what `labdaemon sim FILE` runs.
import { loadDefinition, validateDefinition, type SimDefinition } from "./definition.ts";
import { SimulatedInstrument } from "./instrument.ts";
import { SocketSimServer } from "./socketServer.ts";

export interface ServedResource {
  /** The VISA resource string a client opens. */
  resource: string;
  device: string;
  kind: "socket" | "vxi11" | "hislip" | "serial";
}

export interface RunningSimulators {
  resources: ServedResource[];
  instruments: Map<string, SimulatedInstrument>;
  close(): Promise<void>;
}

/**
 * Starts every resource of the definition (a YAML/JSON file or an object already parsed). When `signal` is
 * aborted during the start, what was started is stopped (socat included) and the promise rejects with its reason.
 */
export async function serveSimulators(
  definition: string | SimDefinition,
  options: { signal?: AbortSignal } = {},
): Promise<RunningSimulators> {
  const { signal } = options;
  const def = typeof definition === "string" ? loadDefinition(definition) : validateDefinition(definition);
  const instruments = new Map<string, SimulatedInstrument>();
  for (const [name, d] of Object.entries(def.devices)) instruments.set(name, new SimulatedInstrument(d));
  const resources: ServedResource[] = [];
  const closers: Array<() => void | Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    for (const r of def.resources ?? []) {
      signal?.throwIfAborted();
      const inst = instruments.get(r.device)!;
      if (r.socket) {
        const server = new SocketSimServer(inst, r.socket);
        closers.push(() => server.close());
        resources.push({ resource: server.resource, device: r.device, kind: "socket" });
      }
      if (r.vxi11) {
        const { serveVxi11 } = await import("./vxi11Server.ts");
        const server = await serveVxi11(inst, r.vxi11.name ?? "inst0");
        closers.push(() => server.close());
        resources.push({ resource: server.resource, device: r.device, kind: "vxi11" });
      }
      if (r.hislip) {
        const { HislipSimServer } = await import("./hislipServer.ts");
        const server = new HislipSimServer(inst, r.hislip.name ?? "hislip0", {
          host: r.hislip.host,
          port: r.hislip.port,
        });
        closers.push(() => server.close());
        resources.push({ resource: server.resource, device: r.device, kind: "hislip" });
      }
      if (r.serial) {
        const { servePty } = await import("./serialPty.ts");
        const pty = await servePty(inst, r.serial.link, signal);
        closers.push(() => pty.close());
        resources.push({ resource: pty.resource, device: r.device, kind: "serial" });
      }
    }
    signal?.throwIfAborted();
  } catch (e) {
    await close();
    throw e;
  }
  return { resources, instruments, close };
}

// `bun drivers/sim/scpi/serve.ts FILE`: serve until interrupted, printing one resource per line.
// No top-level await: the executable is bundled as CommonJS for --bytecode, which forbids it.
async function main(file: string | undefined): Promise<void> {
  if (!file) {
    console.error("usage: serve.ts DEFINITION.yaml|json");
    process.exit(2);
  }
  // Before anything starts: a signal during the start must stop what was started (socat included).
  const abort = new AbortController();
  let sims: RunningSimulators | null = null;
  const stop = async () => {
    if (!sims) return abort.abort(); // the start stops what it started, then rejects (below)
    await sims.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  sims = await serveSimulators(file, { signal: abort.signal }).catch((e: unknown) => {
    if (abort.signal.aborted) process.exit(0);
    throw e;
  });
  for (const r of sims.resources) console.log(`${r.resource}\t${r.device}`);
  console.log("ready");
}

if (import.meta.main) {
  main(process.argv[2]).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
