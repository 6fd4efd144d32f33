// `labdaemon service install|uninstall` on Windows: registers the executable with the Service Control
// Manager through sc.exe (auto start, restarted after a failure), running `serve … --windows-service NAME`
// (src/cli/windowsService.ts). Without the rights to do so it prints the exact commands to run from an
// administrator's prompt instead; --print only prints them.
import { win32 } from "node:path";
import { UsageError } from "./args.ts";
import { userDirectory } from "./userDirectory.ts";

export interface WindowsServiceRequest {
  action: "install" | "uninstall";
  name: string;
  /** The serve flags (install only); paths in them absolute, as the service starts in C:\Windows\System32. */
  serveArgs: string[];
  /** Where the service logs (install only): it has no console. */
  logFile?: string;
  print: boolean;
  /** The executable to run (and, from source, bun with the entry file). */
  self: string[];
}

/** What Windows accepts as a service name that sc.exe can be given unquoted. */
const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * The log file of service NAME: %LOCALAPPDATA%\labdaemon\logs\NAME.log. Install names the installing
 * user's (where they will look); serve without --log-file falls back to that of the account it runs as.
 */
export function serviceLogFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return win32.join(userDirectory(env, "win32"), "logs", `${name}.log`);
}

/** One command-line argument as the Windows C runtime parses it back (CommandLineToArgvW rules). */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, "$1$1")}"`;
}

/** The sc.exe invocations, each as an argument list (what is run) and as text (what is printed). */
export function scCommands(r: WindowsServiceRequest): string[][] {
  if (!SERVICE_NAME.test(r.name))
    throw new UsageError(`service: --name '${r.name}' is not a service name (letters, digits, '_', '.', '-')`);
  if (r.action === "uninstall")
    return [
      ["stop", r.name],
      ["delete", r.name],
    ];
  const log = r.logFile !== undefined ? ["--log-file", r.logFile] : [];
  const binPath = [...r.self, "serve", ...r.serveArgs, ...log, "--windows-service", r.name]
    .map(quoteWindowsArg)
    .join(" ");
  return [
    ["create", r.name, "binPath=", binPath, "start=", "auto", "DisplayName=", `labdaemon (${r.name})`],
    ["description", r.name, "labdaemon lab instrument server"],
    // Restart 5 s after a failure, as the systemd unit does; the count resets after a day without one.
    ["failure", r.name, "reset=", "86400", "actions=", "restart/5000/restart/5000/restart/5000"],
  ];
}

export function scText(args: string[]): string {
  return ["sc.exe", ...args.map(quoteWindowsArg)].join(" ");
}

export async function windowsServiceCommand(r: WindowsServiceRequest): Promise<number> {
  const commands = scCommands(r);
  const start = r.action === "install" ? `sc.exe start ${r.name}` : null;
  if (r.print) {
    for (const c of commands) console.log(scText(c));
    if (start) console.log(start);
    return 0;
  }
  for (const [i, c] of commands.entries()) {
    const proc = Bun.spawnSync(["sc.exe", ...c], { stdout: "pipe", stderr: "pipe" });
    const said = `${proc.stdout.toString()}${proc.stderr.toString()}`.trim().replace(/\s+/g, " ");
    // Stopping is best effort (a service that is not running cannot be stopped); anything else stops here.
    if (proc.exitCode === 0 || c[0] === "stop") continue;
    console.error(`labdaemon: sc.exe ${c[0]} failed (exit ${proc.exitCode}${said ? `: ${said}` : ""})`);
    if (proc.exitCode === 5)
      console.error("labdaemon: registering a service needs an administrator: run these from an elevated prompt:");
    else console.error("labdaemon: what remains to be run:");
    for (const rest of commands.slice(i)) console.error(`  ${scText(rest)}`);
    if (start) console.error(`  ${start}`);
    return 1;
  }
  console.log(
    r.action === "install"
      ? `registered the Windows service ${r.name}${r.logFile !== undefined ? ` (log: ${r.logFile})` : ""}\nthen: ${start}`
      : `removed the Windows service ${r.name}`,
  );
  return 0;
}
