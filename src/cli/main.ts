#!/usr/bin/env bun
// The labdaemon executable: dispatches to a command and turns its failure into a message and an exit
// status (2 usage, 3 configuration, 1 anything else at run time).
// The version straight from package.json: importing the library for it would load the whole server.
import pkg from "../../package.json" with { type: "json" };
import { isCompiled } from "../launcher/selfCommand.ts";
import { UsageError } from "./args.ts";
import {
  CONFIG_HELP,
  LAB_HELP,
  LAUNCHER_HELP,
  MAIN_HELP,
  PROFILES_HELP,
  QUERY_HELP,
  RESOURCES_HELP,
  SERVE_HELP,
  SERVICE_HELP,
  SIM_HELP,
} from "./help.ts";

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const EXIT_CONFIG = 3;

const HELP: Record<string, string> = {
  serve: SERVE_HELP,
  resources: RESOURCES_HELP,
  query: QUERY_HELP,
  sim: SIM_HELP,
  profiles: PROFILES_HELP,
  config: CONFIG_HELP,
  service: SERVICE_HELP,
  lab: LAB_HELP,
  launcher: LAUNCHER_HELP,
};

// Commands load on demand: `--version` and `--help` must not pay for the server.
const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  serve: async () => (await import("./serve.ts")).serveCommand,
  resources: async () => (await import("./resources.ts")).resourcesCommand,
  query: async () => (await import("./query.ts")).queryCommand,
  sim: async () => (await import("./sim.ts")).simCommand,
  launcher: async () => (await import("./launcher.ts")).launcherCommand,
  profiles: async () => (await import("./profiles.ts")).profilesCommand,
  config: async () => (await import("./configCommand.ts")).configCommand,
  service: async () => (await import("./service.ts")).serviceCommand,
  lab: async () => (await import("./labView.ts")).labCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(MAIN_HELP);
    return EXIT_USAGE;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    console.log(`labdaemon ${pkg.version}`);
    return 0;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = rest[0];
    if (topic !== undefined && !HELP[topic])
      throw new UsageError(`help: unknown command '${topic}' (commands: ${Object.keys(HELP).join(", ")})`);
    process.stdout.write(topic ? HELP[topic]! : MAIN_HELP);
    return 0;
  }
  const load = COMMANDS[first];
  if (!load) {
    throw new UsageError(
      first.startsWith("-")
        ? `unknown flag ${first} before a command (commands: ${Object.keys(COMMANDS).join(", ")}; see labdaemon --help)`
        : `unknown command '${first}' (commands: ${Object.keys(COMMANDS).join(", ")}; see labdaemon --help)`,
    );
  }
  return (await load())(rest);
}

/**
 * Inside the executable the addon is unpacked into $TMPDIR before it is loaded; a missing, read-only or
 * noexec TMPDIR shows up as a dlopen failure that says nothing of the cause.
 */
function addonHint(err: Error | undefined): string | null {
  // The loader's own words, wherever the failure surfaced (often inside a device's creation error).
  const cause = /(\S*labdaemon_native[^\s:]*\.node: [^\n]*)/.exec(String(err?.message ?? ""))?.[1];
  if (!cause) return null;
  if (process.platform === "win32")
    return (
      `cannot load the native addon (${cause}). labdaemon.exe writes it into %TEMP%\\labdaemon ` +
      `(${process.env.TEMP ?? "unset"}) when it is first needed: that folder must be writable, and security ` +
      `software must allow loading a DLL from it. Point TEMP at such a folder.`
    );
  return (
    `cannot load the native addon (${cause}). The executable unpacks it into $TMPDIR ` +
    `(${process.env.TMPDIR || "/tmp"}) at start: that folder must exist, be writable and allow executing files ` +
    `(not mounted noexec). Point TMPDIR at such a folder.`
  );
}

/** Which exit status a failure gets. */
export function exitStatusOf(e: unknown): number {
  if (addonHint(e as Error)) return EXIT_RUNTIME;
  const name = (e as Error)?.name;
  if (name === "UsageError") return EXIT_USAGE;
  if (name === "ConfigError" || name === "SimDefinitionError") return EXIT_CONFIG;
  return EXIT_RUNTIME;
}

/** Runs the command line and exits with its status; the Windows entry (windowsEntry.ts) calls it too. */
export function runMain(): void {
  // Inside the executable every module sits in Bun's virtual file system, so a dependency's deprecated call
  // (mqtt's url.parse) is not told apart from node_modules as it is from source: it would print a
  // DeprecationWarning pointing at a `labdaemon --trace-warnings` flag that does not exist.
  if (isCompiled) process.noDeprecation = true;
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e) => {
      const err = e as Error;
      const known =
        err instanceof UsageError ||
        ["ConfigError", "SimDefinitionError", "SimStartError", "PortInUseError", "LabStartError"].includes(err?.name) ||
        typeof (err as { context?: unknown })?.context === "object";
      // Expected failures get one line; anything else keeps its stack for the bug report.
      console.error(`labdaemon: ${addonHint(err) ?? (known ? err.message : (err?.stack ?? String(e)))}`);
      process.exit(exitStatusOf(e));
    },
  );
}

// No top-level await: the entry must also build as CommonJS, which `bun build --bytecode` needs.
if (import.meta.main) runMain();
