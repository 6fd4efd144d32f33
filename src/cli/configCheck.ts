// A configuration's text checked as it is being edited, every problem with its line and column: JSON and
// YAML against the schema and the built-in drivers, every profile; TypeScript for syntax only (running it
// would run the user's code).
import { extname } from "node:path";
import { PROTO_MESSAGE, parseDataConfig, protoKeyPath } from "./config.ts";
import { driverProblems } from "./configDrivers.ts";
import { describeProblem, fmtPath, type PathProblem } from "./configError.ts";
import { fileProblems, isObject } from "./configProfile.ts";
import { MAX_PROBLEMS } from "./schemaProblems.ts";

export interface TextProblem {
  /** 1-based, when the problem has a place in the text. */
  line?: number;
  column?: number;
  /** The value's path (`devices.laser1.type`); absent for a syntax error. */
  path?: string;
  message: string;
}

export interface TextCheck {
  /** "schema": the whole shape was checked; "syntax": only whether it parses. */
  checked: "schema" | "syntax";
  problems: TextProblem[];
}

export const CHECKED_FORMATS = ["yaml", "yml", "json", "ts", "js", "mjs"] as const;
export type CheckedFormat = (typeof CHECKED_FORMATS)[number];

/** `text` as the content of a file in `format`, checked as serve would check every profile in it. */
export function checkConfigText(text: string, format: CheckedFormat): TextCheck {
  if (format === "ts" || format === "js" || format === "mjs") return { checked: "syntax", problems: syntaxOf(text) };
  let parsed: ReturnType<typeof parseDataConfig>;
  try {
    parsed = parseDataConfig(`config.${format}`, text);
  } catch (e) {
    // A syntax error: "config.yaml:3:5: invalid YAML: …".
    const m = /^[^:]*:(\d+):(\d+): ([\s\S]*)$/.exec((e as Error).message);
    return {
      checked: "schema",
      problems: [m ? { ...lineColumn(`:${m[1]}:${m[2]}`), message: m[3]! } : { message: (e as Error).message }],
    };
  }
  const proto = protoKeyPath(parsed.raw);
  if (proto) {
    const message = `${fmtPath(proto)}: ${PROTO_MESSAGE}`;
    return { checked: "schema", problems: [{ ...lineColumn(parsed.where(proto)), path: fmtPath(proto), message }] };
  }
  const problems = [...fileProblems(parsed.raw, false), ...everyDriverProblem(parsed.raw)].slice(0, MAX_PROBLEMS);
  return {
    checked: "schema",
    problems: problems.map((p) => ({
      ...lineColumn(parsed.where(p.path)),
      path: fmtPath(p.path),
      message: describeProblem(p),
    })),
  };
}

/** The drivers' problems of every profile (JSON and YAML name only built-in types). */
function everyDriverProblem(raw: unknown): PathProblem[] {
  if (!isObject(raw)) return [];
  if (!("configs" in raw)) return driverProblems(raw, []);
  const profiles = isObject(raw.configs) ? Object.entries(raw.configs) : [];
  return profiles.flatMap(([name, p]) => driverProblems(p, ["configs", name]));
}

/** The format a file's name implies, or null when it is not a configuration format. */
export function formatOf(file: string): CheckedFormat | null {
  const ext = extname(file).slice(1).toLowerCase();
  return (CHECKED_FORMATS as readonly string[]).includes(ext) ? (ext as CheckedFormat) : null;
}

/** "…:3:5" → { line: 3, column: 5 }; nothing when the place is unknown. */
function lineColumn(where: string): { line?: number; column?: number } {
  const m = /:(\d+):(\d+)$/.exec(where);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : {};
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

function syntaxOf(text: string): TextProblem[] {
  try {
    transpiler.transformSync(text);
    return [];
  } catch (e) {
    const err = e as { message?: string; position?: { line?: number; column?: number } };
    const pos = err.position;
    return [{ ...(pos?.line ? { line: pos.line, column: pos.column ?? 1 } : {}), message: err.message ?? String(e) }];
  }
}
