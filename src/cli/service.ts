// `labdaemon service install|uninstall`: the appliance as a systemd service (on Windows: a service of the
// Service Control Manager, src/cli/serviceWindows.ts). The unit is Type=notify
// (serve says READY=1 once it listens, STOPPING=1 at a signal, WATCHDOG=1 while alive; src/cli/systemd.ts),
// restarts on failure, and runs the same executable with the same configuration the user chose.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseFlags, UsageError, type Parsed } from "./args.ts";
import { discoverConfig, loadConfigFile } from "./config.ts";
import { SERVICE_HELP } from "./help.ts";
import { checkLab, DEFAULT_HOST, openServerRefusal } from "./serveChecks.ts";
// Bun.main tells a compiled executable apart; import.meta.path is baked in at build time (the build machine's).
import { selfCommand } from "../launcher/selfCommand.ts";
import { serviceLogFile, windowsServiceCommand } from "./serviceWindows.ts";

const FLAGS = {
  config: { type: "string" },
  profile: { type: "string" },
  sim: { type: "boolean" },
  user: { type: "boolean" },
  print: { type: "boolean" },
  name: { type: "string" },
  "unit-dir": { type: "string" },
} as const;

/** systemd's own rule for unit names (before the suffix). */
const UNIT_NAME = /^[A-Za-z0-9:_.-]{1,200}$/;
/** Twice the ping interval: a server whose event loop is stuck this long is restarted. */
const WATCHDOG_SEC = 30;

export async function serviceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("service", argv, FLAGS, {
    min: 1,
    max: 1,
    names: ["an action (install or uninstall)"],
  }) as Parsed;
  if (values.help) {
    process.stdout.write(SERVICE_HELP);
    return 0;
  }
  const action = positionals[0];
  if (action !== "install" && action !== "uninstall")
    throw new UsageError(`service: unknown action '${action}' (install or uninstall; see labdaemon service --help)`);
  const flag = (k: string) => values[k] as string | undefined;
  const profile = flag("profile");
  if (process.platform === "win32") {
    if (values.user || flag("unit-dir") !== undefined)
      throw new UsageError("service: --user and --unit-dir are for systemd units; Windows services have neither");
    if (action === "uninstall" && (values.sim || flag("config") !== undefined || profile !== undefined))
      throw new UsageError("service uninstall takes only --name and --print");
    const name = unitName(flag("name"), profile);
    return windowsServiceCommand({
      action,
      name,
      serveArgs: action === "install" ? await serveArgs(values.sim === true, flag("config"), profile) : [],
      logFile: serviceLogFile(name),
      print: values.print === true,
      self: selfCommand([]),
    });
  }
  const name = unitName(flag("name"), profile);
  const userUnit = values.user === true;
  const dir = resolve(
    flag("unit-dir") ??
      (userUnit
        ? join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "systemd/user")
        : "/etc/systemd/system"),
  );
  const file = join(dir, `${name}.service`);
  const systemctl = `systemctl${userUnit ? " --user" : ""}`;

  if (action === "uninstall") {
    if (values.print || values.sim || flag("config") !== undefined || profile !== undefined)
      throw new UsageError("service uninstall takes only --name, --user and --unit-dir");
    if (!existsSync(file)) {
      console.error(`labdaemon: no unit ${file} to remove`);
      return 1;
    }
    if (!ours(file)) {
      console.error(`labdaemon: ${file} was not written by labdaemon service install; left alone`);
      return 1;
    }
    rmSync(file);
    console.log(`removed ${file}\nthen: ${systemctl} disable --now ${name}; ${systemctl} daemon-reload`);
    return 0;
  }

  const args = await serveArgs(values.sim === true, flag("config"), profile);
  const unit = unitText({
    exec: selfCommand(["serve", ...args]),
    profile,
    userUnit,
    workingDirectory: args[1] ? dirname(args[1]) : "~",
  });
  if (values.print) {
    process.stdout.write(unit);
    return 0;
  }
  if (existsSync(file) && !ours(file)) {
    console.error(`labdaemon: ${file} exists and was not written by labdaemon service install; choose another --name`);
    return 1;
  }
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.tmp`, unit, { mode: 0o644 });
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint =
      code === "EACCES" || code === "EPERM" ? ` (run it with sudo, or use --user for a unit of your own)` : "";
    console.error(`labdaemon: cannot write ${file}: ${code ?? (e as Error).message}${hint}`);
    return 1;
  }
  console.log(`wrote ${file}\nthen: ${systemctl} daemon-reload && ${systemctl} enable --now ${name}`);
  return 0;
}

/** The serve flags the unit passes: the configuration found now, as an absolute path, checked to load. */
async function serveArgs(sim: boolean, configFlag: string | undefined, profile: string | undefined): Promise<string[]> {
  if (sim) {
    if (configFlag !== undefined || profile !== undefined)
      throw new UsageError("service: --sim excludes --config and --profile");
    return ["--sim"];
  }
  const found = discoverConfig({ flag: configFlag, env: process.env.LABDAEMON_CONFIG || undefined });
  if (!found)
    throw new UsageError("service: no lab configuration found (give --config FILE, or --sim for the simulated lab)");
  const file = resolve(found.file);
  // Checked now as serve checks it at start, so a typo, an unknown device type or an open host is an
  // error at install time instead of a service that restarts forever.
  const loaded = await loadConfigFile(file, profile);
  // The unit runs serve with this configuration alone: no --token, no --insecure, none of this shell's variables.
  const refusal = openServerRefusal(
    loaded.config.host ?? DEFAULT_HOST,
    loaded.config.token,
    false,
    "the configuration's host",
  );
  if (refusal)
    throw new UsageError(
      `service: the service would fail at every start: serve: ${refusal}; give the configuration a token (the service is started without --token, and this shell's LABDAEMON_TOKEN does not reach it)`,
    );
  await checkLab(loaded);
  return ["--config", file, ...(profile !== undefined ? ["--profile", profile] : [])];
}

const HEADER = "# Written by `labdaemon service install`";

/** A unit file this command wrote (its first line says so): the only kind it replaces or removes. */
function ours(file: string): boolean {
  try {
    return readFileSync(file, "utf8").startsWith(HEADER);
  } catch {
    return false;
  }
}

function unitName(given: string | undefined, profile: string | undefined): string {
  const name =
    given ?? (profile !== undefined ? `labdaemon-${profile.replace(/[^A-Za-z0-9:_.-]/g, "_")}` : "labdaemon");
  if (!UNIT_NAME.test(name))
    throw new UsageError(
      `service: --name '${given}' is not a systemd unit name (letters, digits, ':', '_', '.', '-', '\\')`,
    );
  return name;
}

/** One argument of ExecStart: quoted, with systemd's specifiers (%) and variables ($) kept literal. */
function quoteArg(arg: string): string {
  return `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

export function unitText(o: { exec: string[]; profile?: string; userUnit: boolean; workingDirectory: string }): string {
  // A system unit runs as whoever installed it (through sudo: the user who ran sudo), never as root by default.
  const owner = process.env.SUDO_USER || process.env.USER || safeUserName();
  const lines = [
    `${HEADER}; remove with \`labdaemon service uninstall\`.`,
    "[Unit]",
    `Description=labdaemon lab server${o.profile !== undefined ? ` (profile ${o.profile})` : ""}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=notify",
    "NotifyAccess=main",
    `ExecStart=${o.exec.map(quoteArg).join(" ")}`,
    // "~" is the home of the unit's user (User=, or the user manager's own).
    `WorkingDirectory=${o.workingDirectory.replace(/%/g, "%%")}`,
    ...(!o.userUnit && owner && owner !== "root" ? [`User=${owner}`] : []),
    "Restart=on-failure",
    "RestartSec=2",
    `WatchdogSec=${WATCHDOG_SEC}`,
    "TimeoutStartSec=90",
    "TimeoutStopSec=10",
    "",
    "[Install]",
    `WantedBy=${o.userUnit ? "default.target" : "multi-user.target"}`,
    "",
  ];
  return lines.join("\n");
}

/** bun's userInfo() takes the name from $USER and says "unknown" without it (a unit with User=unknown fails). */
function safeUserName(): string | undefined {
  try {
    const id = Bun.spawnSync(["id", "-un"], { stdout: "pipe", stderr: "ignore" });
    const name = id.stdout.toString().trim();
    if (id.exitCode === 0 && name) return name;
  } catch {
    // no id(1): ask the runtime
  }
  try {
    const name = userInfo().username;
    return name === "unknown" ? undefined : name;
  } catch {
    return undefined;
  }
}
