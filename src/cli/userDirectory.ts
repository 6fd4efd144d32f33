// Where labdaemon keeps a user's own files when nothing names a place: ~/.labdaemon on Linux,
// %LOCALAPPDATA%\labdaemon on Windows (per-user, not roamed between PCs: run records and data are this PC's).
import { homedir } from "node:os";
import { join, win32 } from "node:path";

export function userDirectory(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  if (platform === "win32")
    return win32.join(env.LOCALAPPDATA || win32.join(env.USERPROFILE || homedir(), "AppData", "Local"), "labdaemon");
  return join(env.HOME || homedir(), ".labdaemon");
}
