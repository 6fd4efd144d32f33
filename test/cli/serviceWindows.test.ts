// The Windows service commands and user directory, checked on Linux: what sc.exe is given and printed,
// how arguments are quoted for the Windows C runtime, where %LOCALAPPDATA% puts labdaemon's files, and where a
// service's output goes.
import { expect, test } from "bun:test";
import { quoteWindowsArg, scCommands, scText, serviceLogFile } from "../../src/cli/serviceWindows.ts";
import { userDirectory } from "../../src/cli/userDirectory.ts";
import { consoleToLog } from "../../src/cli/windowsService.ts";
import { runDirectory } from "../../src/launcher/runDir.ts";

test("install: sc.exe create runs serve with --windows-service, quoted as CommandLineToArgvW reads it back", () => {
  const [create, description, failure] = scCommands({
    action: "install",
    name: "labdaemon-optics",
    serveArgs: ["--config", "C:\\Lab Files\\lab.yaml", "--profile", "optics"],
    logFile: "C:\\Users\\ana\\AppData\\Local\\labdaemon\\logs\\labdaemon-optics.log",
    print: true,
    self: ["C:\\Program Files\\labdaemon\\labdaemon.exe"],
  });
  expect(create!.slice(0, 3)).toEqual(["create", "labdaemon-optics", "binPath="]);
  expect(create![3]).toBe(
    '"C:\\Program Files\\labdaemon\\labdaemon.exe" serve --config "C:\\Lab Files\\lab.yaml" --profile optics --log-file C:\\Users\\ana\\AppData\\Local\\labdaemon\\logs\\labdaemon-optics.log --windows-service labdaemon-optics',
  );
  expect(create!.slice(4, 6)).toEqual(["start=", "auto"]);
  expect(scText(create!)).toStartWith(
    'sc.exe create labdaemon-optics binPath= "\\"C:\\Program Files\\labdaemon\\labdaemon.exe\\" serve --config',
  );
  expect(description![0]).toBe("description");
  expect(failure).toEqual([
    "failure",
    "labdaemon-optics",
    "reset=",
    "86400",
    "actions=",
    "restart/5000/restart/5000/restart/5000",
  ]);
});

test("a service logs to %LOCALAPPDATA%\\labdaemon\\logs\\NAME.log: it has no console", () => {
  expect(serviceLogFile("labdaemon", { LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local" })).toBe(
    "C:\\Users\\ana\\AppData\\Local\\labdaemon\\logs\\labdaemon.log",
  );
});

test("uninstall stops then deletes; a name sc.exe could misread is a usage error", () => {
  expect(scCommands({ action: "uninstall", name: "labdaemon", serveArgs: [], print: false, self: [] })).toEqual([
    ["stop", "labdaemon"],
    ["delete", "labdaemon"],
  ]);
  expect(() => scCommands({ action: "uninstall", name: "lab daemon", serveArgs: [], print: false, self: [] })).toThrow(
    /not a service name/,
  );
});

test("quoteWindowsArg doubles backslashes only before a quote or the closing quote", () => {
  expect(quoteWindowsArg("plain")).toBe("plain");
  expect(quoteWindowsArg("")).toBe('""');
  expect(quoteWindowsArg("a b")).toBe('"a b"');
  expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
  expect(quoteWindowsArg("C:\\dir with space\\")).toBe('"C:\\dir with space\\\\"');
});

test("the user directory is %LOCALAPPDATA%\\labdaemon on Windows and ~/.labdaemon elsewhere", () => {
  const win = { LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local", XDG_RUNTIME_DIR: "/run/user/1000" };
  expect(userDirectory(win, "win32")).toBe("C:\\Users\\ana\\AppData\\Local\\labdaemon");
  expect(userDirectory({ USERPROFILE: "C:\\Users\\ana" }, "win32")).toBe("C:\\Users\\ana\\AppData\\Local\\labdaemon");
  expect(runDirectory(win, "win32")).toBe("C:\\Users\\ana\\AppData\\Local\\labdaemon\\run");
  expect(userDirectory({ HOME: "/home/ana" }, "linux")).toBe("/home/ana/.labdaemon");
  expect(runDirectory({ HOME: "/home/ana" }, "linux")).toBe("/home/ana/.labdaemon/run");
  expect(runDirectory({ HOME: "/home/ana", XDG_RUNTIME_DIR: "/run/user/1000" }, "linux")).toBe(
    "/run/user/1000/labdaemon",
  );
});

test("once connected, what a service prints goes to its log: console.log at INFO, console.error at ERROR", () => {
  const lines: string[] = [];
  const sink = { write: (l: string) => void lines.push(l), flush() {}, close() {} };
  const saved = { log: console.log, info: console.info, error: console.error, warn: console.warn };
  try {
    consoleToLog(sink, "text");
    console.log("labdaemon serving on http://%s:%d", "127.0.0.1", 5000);
    console.error("labdaemon: SIGTERM, shutting down");
  } finally {
    Object.assign(console, saved);
  }
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ INFO +labdaemon serving on http:\/\/127\.0\.0\.1:5000\n$/);
  expect(lines[1]).toMatch(/ ERROR labdaemon: SIGTERM, shutting down\n$/);
});
