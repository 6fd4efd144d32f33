// Command-line flags: node's parseArgs, with its errors turned into a usage message that names the
// command and points at its --help.
import { parseArgs } from "node:util";

/** `emptyOk`: an empty value means something (`--read-termination ""`: none); otherwise "" is refused. */
export type FlagSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; emptyOk?: boolean }
>;

/** Wrong usage: exit status 2, message on stderr. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * `positionals.names` names each positional argument in order (for "missing …"); a command that takes
 * none gives an empty list.
 */
export function parseFlags(
  command: string,
  argv: string[],
  flags: FlagSpec,
  positionals: { min: number; max: number; names: readonly string[] },
): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options = Object.fromEntries(Object.entries(flags).map(([k, { emptyOk: _, ...o }]) => [k, o]));
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    const err = e as { code?: string; message: string };
    const m = /'([^']+)'/.exec(err.message);
    const flag = m?.[1]?.split(" ")[0] ?? "";
    switch (err.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(
          `${command}: unknown flag ${flag}${suggest(flag, flags)} (see labdaemon ${command} --help)`,
        );
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(
          `${command}: ${
            err.message.includes("missing")
              ? `${flag} needs a value`
              : err.message.includes("does not take")
                ? `${flag} takes no value`
                : err.message.includes("ambiguous")
                  ? `${flag} needs a value (one starting with '-' is written ${flag}=VALUE)`
                  : firstLine(err.message)
          }`,
        );
      default:
        throw new UsageError(`${command}: ${firstLine(err.message)}`);
    }
  }
  const values = parsed.values as Parsed["values"];
  if (values.help) return { values, positionals: parsed.positionals };
  for (const [k, v] of Object.entries(values)) {
    // `--token ""` would otherwise reach code that takes "" for "not given", or fails deep inside.
    const empty = Array.isArray(v) ? v.includes("") : v === "";
    if (empty && !flags[k]?.emptyOk)
      throw new UsageError(`${command}: --${k} needs a value, got an empty one (see labdaemon ${command} --help)`);
  }
  const n = parsed.positionals.length;
  // Only the arguments not given: `query RESOURCE` lacks its MESSAGE, not its RESOURCE.
  if (n < positionals.min)
    throw new UsageError(
      `${command}: missing ${positionals.names.slice(n, positionals.min).join(" and ")} (see labdaemon ${command} --help)`,
    );
  if (n > positionals.max)
    throw new UsageError(
      `${command}: unexpected argument '${parsed.positionals[positionals.max]}' (see labdaemon ${command} --help)`,
    );
  return { values, positionals: parsed.positionals };
}

/** Node's parse errors add advice on further lines; a usage error is one line. */
function firstLine(message: string): string {
  return message.split("\n", 1)[0]!;
}

function suggest(flag: string, flags: FlagSpec): string {
  const name = flag.replace(/^-+/, "").split("=")[0]!;
  const close = Object.keys(flags).find((f) => distance(f, name) <= 2);
  return close ? ` (did you mean --${close}?)` : "";
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export function portFlag(v: string | undefined, name = "--port"): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new UsageError(`${name} must be a port number within 0–65535, got '${v}'`);
  return Number(v);
}

/**
 * The one range of every millisecond value the CLI takes (flags and config): the I/O layer's, and well
 * inside what a JS timer can hold (2^31 - 1 ms; above it a timer fires at once).
 */
export const MAX_MS = 86_400_000;
export const MS_RANGE = `a whole number of milliseconds within 1–${MAX_MS} (24 h)`;

export function isMs(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_MS;
}

/** A duration flag: 0 is refused (it would mean no bound, and a hung device would hang the command). */
export function msFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!isMs(n)) throw new UsageError(`${name} must be ${MS_RANGE}, got '${v}'`);
  return n;
}

/** A whole-number flag within min–max; `what` completes "must be … within min–max" in its usage error. */
export function wholeFlag(
  v: string | undefined,
  name: string,
  what: string,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${name} must be ${what} within ${min}–${max}, got '${v}'`);
  return n;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\" };

/**
 * A message termination as typed on a command line: text with the escapes \r \n \t \\ \xHH, or `none`
 * (or "") for no termination at all. ASCII only: the I/O layer matches terminations as UTF-8 bytes.
 */
export function terminationFlag(v: string | undefined, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (v === "none" || v === "") return "";
  const bad = (why: string): never => {
    throw new UsageError(
      `${name} takes ASCII text with the escapes \\r \\n \\t \\\\ \\xHH (up to \\x7f), or none; got '${v}' (${why})`,
    );
  };
  const text = v.replace(/\\(x[0-9a-fA-F]{2}|[\s\S]|$)/g, (_m, e: string) => {
    if (e.length === 3) {
      const code = parseInt(e.slice(1), 16);
      return code > 0x7f ? bad(`\\${e} is not ASCII`) : String.fromCharCode(code);
    }
    if (e === "x") return bad("\\x needs two hex digits");
    return ESCAPES[e] ?? bad(e === "" ? "a lone \\ at the end" : `unknown escape \\${e}`);
  });
  const nonAscii = /[^\x00-\x7f]/.exec(text);
  return nonAscii ? bad(`'${nonAscii[0]}' is not ASCII`) : text;
}
