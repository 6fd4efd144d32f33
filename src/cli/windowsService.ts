// `serve --windows-service NAME`: the server as a Windows service. The addon connects to the Service
// Control Manager (native/windows/service_binding.cc); a stop or shutdown request from Windows takes
// the same graceful path as SIGTERM, and the SCM hears "running" once the server listens and "stopped"
// with the exit status when the process ends. A service has no console, so once connected everything
// serve prints goes to the log file.
import { mkdirSync } from "node:fs";
import { format } from "node:util";
import { win32 } from "node:path";
import { native } from "../io/native.ts";
import { Logger, type LogFormat, type LogSink } from "../log/index.ts";
import { UsageError } from "./args.ts";

export interface WindowsService {
  running(): void;
}

/** The service name's rule in `sc.exe create`: no slashes, at most 256 characters. */
const SERVICE_NAME = /^[^/\\]{1,256}$/;

export class ServiceStartError extends Error {
  override name = "LabStartError"; // one line, exit status 1 (src/cli/main.ts)
}

/** Creates the log file's folder: on a fresh PC nothing has made %LOCALAPPDATA%\labdaemon yet. */
export function makeLogFolder(file: string): void {
  mkdirSync(win32.dirname(file), { recursive: true });
}

export async function connectWindowsService(name: string): Promise<WindowsService> {
  if (process.platform !== "win32") throw new UsageError("serve: --windows-service is for Windows services only");
  if (!SERVICE_NAME.test(name)) throw new UsageError(`serve: --windows-service '${name}' is not a service name`);
  const connected = new Promise<void>((resolve, reject) => {
    native.runWindowsService(name, (kind: string, detail: string) => {
      if (kind === "started") resolve();
      else if (kind === "failed") reject(new ServiceStartError(`--windows-service ${name}: ${detail}`));
      // The serve command's SIGTERM handler does the graceful shutdown.
      else if (kind === "stop") process.emit("SIGTERM", "SIGTERM");
    });
  });
  // The dispatcher's callback does not hold the event loop open (it must not once the server runs):
  // until the SCM has answered, this timer does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await connected.finally(() => clearInterval(keepAlive));
  process.once("exit", (code) => native.reportWindowsService("stopped", code));
  return { running: () => native.reportWindowsService("running") };
}

/**
 * console.log/info into the log file at info, console.error/warn at error: the start-up line, the
 * shutdown and the failure that ends the process (src/cli/main.ts prints it) would otherwise be lost.
 */
export function consoleToLog(sink: LogSink, logFormat: LogFormat): void {
  const log = new Logger({ level: "info", format: logFormat, sink });
  console.log = console.info = (...args: unknown[]) => log.info(format(...args));
  console.error = console.warn = (...args: unknown[]) => log.error(format(...args));
}
