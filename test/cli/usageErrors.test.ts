// Every flag of every command, given empty, wrong-typed, out-of-range or missing values, through the real
// CLI: a user's mistake is one line on stderr, no stack frame, exit status 2, and nothing started.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN_HELP } from "../../src/cli/help.ts";
import { runCli, type CliResult } from "./runCli.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-usage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const R = "TCPIP0::127.0.0.1::5025::SOCKET";
/** A configuration without a token that asks for every interface. */
const wideConfig = join(dir, "wide.yaml");
writeFileSync(wideConfig, "host: 0.0.0.0\ndevices: {}\n");

/** [args, what the one line must contain]. */
const MISTAKES: Array<[string[], string]> = [
  // serve
  [["serve", "--token", ""], "--token needs a value"],
  [["serve", "--token="], "--token needs a value"],
  [["serve", "--token"], "--token needs a value"],
  [["serve", "--host", ""], "--host needs a value"],
  [["serve", "--host"], "--host needs a value"],
  [["serve", "--host", "not a host"], "--host takes an IP address or a host name"],
  [["serve", "--host", "0.0.0.0"], "add --insecure"],
  [["serve", "--host", "::"], "add --insecure"],
  [["serve", "--host", "192.168.1.5", "--sim"], "add --insecure"],
  [["serve", "--config", wideConfig], "the configuration's host"],
  [["serve", "--port", ""], "--port needs a value"],
  [["serve", "--port", "abc"], "--port must be a port number"],
  [["serve", "--port", "70000"], "--port must be a port number"],
  [["serve", "--port", "-1"], "--port needs a value"],
  [["serve", "--port=-1"], "--port must be a port number"],
  [["serve", "--port", "1.5"], "--port must be a port number"],
  [["serve", "--port"], "--port needs a value"],
  [["serve", "--config", ""], "--config needs a value"],
  [["serve", "--config"], "--config needs a value"],
  [["serve", "--profile", ""], "--profile needs a value"],
  [["serve", "--profile"], "--profile needs a value"],
  [["serve", "--sim", "--profile", "x"], "--profile needs a configuration file"],
  [["serve", "--sim", "--config", wideConfig], "exclude each other"],
  [["serve", "--cors", ""], "--cors needs a value"],
  [["serve", "--cors", "*"], "--cors takes an origin"],
  [["serve", "--cors"], "--cors needs a value"],
  [["serve", "--log-level", ""], "--log-level needs a value"],
  [["serve", "--log-level", "loud"], "--log-level must be one of"],
  [["serve", "--log-level"], "--log-level needs a value"],
  [["serve", "--connect-timeout", ""], "--connect-timeout needs a value"],
  [["serve", "--connect-timeout", "0"], "--connect-timeout must be"],
  [["serve", "--connect-timeout", "abc"], "--connect-timeout must be"],
  [["serve", "--connect-timeout", "99999999999"], "--connect-timeout must be"],
  [["serve", "--connect-timeout"], "--connect-timeout needs a value"],
  [["serve", "--sim=yes"], "--sim takes no value"],
  [["serve", "--insecure=1"], "--insecure takes no value"],
  [["serve", "--log-file", ""], "--log-file needs a value"],
  [["serve", "--log-file"], "--log-file needs a value"],
  [["serve", "--log-file", dir], "--log-file"],
  [["serve", "--log-format", "xml"], "--log-format must be text or json"],
  [["serve", "--log-format"], "--log-format needs a value"],
  [["serve", "--log-max-bytes", "12"], "--log-max-bytes must be"],
  [["serve", "--log-max-bytes", "lots"], "--log-max-bytes must be"],
  [["serve", "--log-max-bytes", "1048576"], "--log-max-bytes needs --log-file"],
  [["serve", "--log-keep", "-1"], "--log-keep needs a value"],
  [["serve", "--log-keep", "1000"], "--log-keep must be"],
  [["serve", "extra"], "unexpected argument 'extra'"],
  [["serve", "--prot", "1"], "did you mean --port?"],
  // resources
  [["resources", "--visa-library", ""], "--visa-library needs a value"],
  [["resources", "--visa-library"], "--visa-library needs a value"],
  [["resources", "extra"], "unexpected argument"],
  [["resources", "--bogus"], "unknown flag --bogus"],
  // query
  [["query"], "missing RESOURCE and MESSAGE"],
  [["query", R], "missing MESSAGE"],
  [["query", R, "*IDN?", "more"], "unexpected argument 'more'"],
  [["query", "", "*IDN?"], "invalid resource name"],
  [["query", "not-a-resource", "*IDN?"], "invalid resource name"],
  [["query", "TCPIP0::bad::xx::yy::zz", "*IDN?"], "invalid resource name"],
  [["query", R, ""], "MESSAGE is empty"],
  [["query", R, "*IDN?", "--timeout", ""], "--timeout needs a value"],
  [["query", R, "*IDN?", "--timeout", "0"], "--timeout must be"],
  [["query", R, "*IDN?", "--timeout", "2s"], "--timeout must be"],
  [["query", R, "*IDN?", "--timeout"], "--timeout needs a value"],
  [["query", R, "*IDN?", "--read-termination", "\\q"], "unknown escape"],
  [["query", R, "*IDN?", "--write-termination", "é"], "is not ASCII"],
  [["query", R, "*IDN?", "--read-termination"], "--read-termination needs a value"],
  [["query", R, "*IDN?", "--baud-rate", ""], "--baud-rate needs a value"],
  [["query", R, "*IDN?", "--baud-rate", "0"], "--baud-rate must be"],
  [["query", R, "*IDN?", "--baud-rate", "fast"], "--baud-rate must be"],
  [["query", R, "*IDN?", "--baud-rate", "99999999999999999999"], "--baud-rate must be"],
  [["query", R, "*IDN?", "--visa-library", ""], "--visa-library needs a value"],
  // sim
  [["sim"], "missing FILE"],
  [["sim", "a.yaml", "b.yaml"], "unexpected argument"],
  [["sim", "--bogus"], "unknown flag --bogus"],
  [["sim", "--example", "a.yaml"], "--example takes no FILE"],
  [["sim", "--example=1"], "--example takes no value"],
  // profiles
  [["profiles", "--config", ""], "--config needs a value"],
  [["profiles", "--config"], "--config needs a value"],
  [["profiles", "extra"], "unexpected argument"],
  // the command itself
  [["help", "bogus"], "unknown command 'bogus'"],
  [["--bogus"], "unknown flag --bogus"],
  [["bogus"], "unknown command 'bogus'"],
];

/** Four at a time: each is a bun process, and the machine has two cores shared with other work. */
async function runAll(cases: string[][]): Promise<CliResult[]> {
  const results: CliResult[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await runCli(cases[i]!, { cwd: dir, env: { HOME: dir }, timeoutMs: 20_000 });
      }
    }),
  );
  return results;
}

describe("every command's flags", () => {
  test("a mistake is one line on stderr, no stack frame, nothing on stdout and exit status 2", async () => {
    const results = await runAll(MISTAKES.map(([args]) => args));
    const wrong = MISTAKES.flatMap(([args, expected], i) => {
      const r = results[i]!;
      const ok =
        r.exitCode === 2 &&
        r.stdout.length === 0 &&
        /^labdaemon: [^\n]+\n$/.test(r.stderr) &&
        !/\n\s+at /.test(r.stderr) &&
        r.stderr.includes(expected);
      return ok ? [] : [{ args, exitCode: r.exitCode, stderr: r.stderr, expected }];
    });
    expect(wrong).toEqual([]);
  }, 240_000);

  test("every flag any command's --help lists: without its value, empty, or a value given to a switch", async () => {
    const commands = [...new Set([...MAIN_HELP.matchAll(/^ {2}labdaemon ([a-z]+)/gm)].map((m) => m[1]!))].filter(
      (c) => c !== "help",
    );
    expect(commands).toEqual(expect.arrayContaining(["serve", "resources", "query", "sim", "profiles"]));
    const helps = await runAll(commands.map((c) => [c, "--help"]));
    const cases: string[][] = [];
    for (const [i, command] of commands.entries()) {
      expect({ command, exitCode: helps[i]!.exitCode }).toEqual({ command, exitCode: 0 });
      // Flag lines: "  --port PORT   …", "  --sim   …", "  --a FILE, --b FILE   …" (the part before the description).
      for (const line of helps[i]!.stdout.toString()
        .split("\n")
        .filter((l) => /^ {2}--[a-z]/.test(l))) {
        const spec = line.trim().split(/ {2,}/)[0]!;
        for (const [, flag, value] of spec.matchAll(/--([a-z][a-z-]*)( [A-Z][A-Za-z]*)?/g)) {
          if (value === undefined) cases.push([command, `--${flag}=yes`]);
          else {
            cases.push([command, `--${flag}`]);
            // Empty means "no termination" for these, as their help says ('none' or "").
            if (!["read-termination", "write-termination"].includes(flag!)) cases.push([command, `--${flag}`, ""]);
          }
        }
      }
    }
    expect(cases.length).toBeGreaterThan(30);
    const results = await runAll(cases);
    const wrong = cases.flatMap((args, i) => {
      const r = results[i]!;
      const ok =
        r.exitCode === 2 &&
        r.stdout.length === 0 &&
        /^labdaemon: [^\n]+\n$/.test(r.stderr) &&
        !/\n\s+at /.test(r.stderr);
      return ok ? [] : [{ args, exitCode: r.exitCode, stderr: r.stderr }];
    });
    expect(wrong).toEqual([]);
  }, 240_000);

  test("a missing positional argument is named alone: the line says what is missing, not what was given", async () => {
    const cases: Array<[string[], string]> = [
      [["query"], "query: missing RESOURCE and MESSAGE"],
      [["query", R], "query: missing MESSAGE"],
      [["query", "--timeout", "100", R], "query: missing MESSAGE"],
      [["service"], "service: missing an action (install or uninstall)"],
    ];
    const results = await runAll(cases.map(([args]) => args));
    const seen = cases.map(([args], i) => ({ args, exitCode: results[i]!.exitCode, stderr: results[i]!.stderr }));
    expect(seen).toEqual(
      cases.map(([args, line]) => {
        const command = args[0]!;
        return { args, exitCode: 2, stderr: `labdaemon: ${line} (see labdaemon ${command} --help)\n` };
      }),
    );
  }, 120_000);

  test("files that are not there or not readable are one line too (status 3: configuration)", async () => {
    const cases = [
      ["serve", "--config", join(dir, "none.yaml")],
      ["serve", "--config", dir],
      ["sim", join(dir, "none.yaml")],
      ["sim", dir],
      ["profiles", "--config", join(dir, "none.yaml")],
    ];
    const results = await runAll(cases);
    const wrong = cases.flatMap((args, i) => {
      const r = results[i]!;
      return r.exitCode === 3 && /^labdaemon: [^\n]+\n$/.test(r.stderr)
        ? []
        : [{ args, exitCode: r.exitCode, stderr: r.stderr }];
    });
    expect(wrong).toEqual([]);
  }, 120_000);
});
