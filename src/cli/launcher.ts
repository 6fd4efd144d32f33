// `labdaemon launcher`: serves the launcher page for the lab configuration found as `serve` finds it,
// prints its URL (with this launch's secret) and opens it; quitting stops the servers it started.
import { parseFlags, portFlag, type Parsed } from "./args.ts";
import { LAUNCHER_HELP } from "./help.ts";
import { isAddressInUse, PortInUseError } from "./portInUse.ts";
import { plural } from "./plural.ts";

const DEFAULT_PORT = 5100;
const FLAGS = { config: { type: "string" }, port: { type: "string" }, "no-open": { type: "boolean" } } as const;

export async function launcherCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags("launcher", argv, FLAGS, { min: 0, max: 0, names: [] }) as Parsed;
  if (values.help) {
    process.stdout.write(LAUNCHER_HELP);
    return 0;
  }
  const port = portFlag(values.port as string | undefined) ?? DEFAULT_PORT;
  const { startLauncher } = await import("../launcher/index.ts");
  let launcher: Awaited<ReturnType<typeof startLauncher>>;
  try {
    launcher = await startLauncher({ configFlag: values.config as string | undefined, port });
  } catch (e) {
    if (isAddressInUse(e))
      throw new PortInUseError(
        `port ${port} on 127.0.0.1 is already in use (another launcher? choose another with --port)`,
      );
    throw e;
  }
  const { supervisor: sup, http } = launcher;
  let signals = 0;
  const onSignal = (s: NodeJS.Signals) => {
    if (++signals > 1) {
      console.error(`labdaemon launcher: ${s} again, exiting now`);
      process.exit(130);
    }
    console.error(`labdaemon launcher: ${s}, stopping the servers it started`);
    void launcher.quit();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // The terminal closed (on Windows: the console window): its servers are detached, so only we can stop them.
  process.on("SIGHUP", onSignal);

  console.error(
    sup.configFile
      ? `labdaemon launcher: ${sup.configFile} (${sup.via}), ${plural(sup.profiles.length, "profile")}${sup.configError ? `; it does not load: ${sup.configError.message}` : ""}`
      : "labdaemon launcher: no lab configuration found; the page offers to create one",
  );
  const orphans = sup.orphanList();
  if (orphans.length > 0)
    console.error(
      `labdaemon launcher: ${plural(orphans.length, "server")} left by an earlier launcher (${sup.runDir.dir}): see the page`,
    );
  console.log(`labdaemon launcher on ${http.urlWithToken}`);
  if (values["no-open"] !== true) openBrowser(http.urlWithToken);

  const { stopped, kept } = await launcher.done;
  console.error(
    `labdaemon launcher: quit${stopped.length ? `; stopped ${stopped.join(", ")}` : ""}${kept.length ? `; left running: ${kept.join(", ")}` : ""}`,
  );
  return 0;
}

/** The desktop's way to open a URL; a failure only costs the user a copy-paste of the printed URL. */
function openBrowser(url: string): void {
  const cmd =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  try {
    const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    void p.exited.then((code) => {
      if (code !== 0)
        console.error(
          `labdaemon launcher: could not open a browser (${cmd[0]} exited with ${code}); open the URL above`,
        );
    });
  } catch {
    console.error(`labdaemon launcher: could not open a browser (no ${cmd[0]}); open the URL above`);
  }
}
