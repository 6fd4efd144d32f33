// TypeScript (and JavaScript) lab configurations: imported as modules with a bound on their loading,
// their failures pointed at the user's file and line.
import { pathToFileURL } from "node:url";
import { settleWithin } from "../core/deadline.ts";
import { ConfigError, type ConfigPath, type Fail, failAt } from "./configError.ts";
import { readText } from "./configText.ts";
import { lineColumn } from "../files/jsonSyntax.ts";
import { registerLabdaemonModule } from "./userModules.ts";

/** How long a TypeScript config may take to load (its top-level awaits included). */
export const CONFIG_IMPORT_TIMEOUT_MS = 30_000;

/** A file's parsed content, where a path in it is, and how to fail at a path. */
export interface RawConfig {
  raw: unknown;
  where: (path: ConfigPath) => string;
  fail: Fail;
  isModule: boolean;
}

export async function readModuleConfig(file: string, timeoutMs: number): Promise<RawConfig> {
  const text = readText(file);
  registerLabdaemonModule();
  let mod: Record<string, unknown>;
  try {
    // A top-level await that never settles would hang start-up, or, with nothing else pending, end the
    // process with status 0 and no word.
    mod = await settleWithin(
      import(pathToFileURL(file).href),
      timeoutMs,
      () =>
        new ConfigError(
          `${file}: the module did not finish loading within ${timeoutMs} ms (a top-level await that never settles?)`,
        ),
    );
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(describeImportError(e, file));
  }
  const raw = mod.default ?? (mod.configs ? { configs: mod.configs, default: mod.defaultProfile } : undefined);
  if (raw === undefined)
    throw new ConfigError(`${file}: the module must \`export default\` a lab configuration (or export \`configs\`)`);
  const where = (path: ConfigPath) => `${file}${searchLine(text, path)}`;
  return { raw, where, fail: failAt(where), isModule: true };
}

/** A syntax error carries its position; a throw while the module runs points at the user's frame. */
export function describeImportError(e: unknown, file: string): string {
  const err = e as {
    message?: string;
    position?: { file?: string; line?: number; column?: number };
    errors?: unknown[];
    stack?: string;
  };
  const first = Array.isArray(err?.errors) && err.errors.length > 0 ? (err.errors[0] as typeof err) : err;
  if (first?.position?.line) {
    const p = first.position;
    return `${p.file ?? file}:${p.line}:${p.column ?? 0}: ${first.message ?? String(first)}`;
  }
  const name = (err as { name?: string })?.name ?? "";
  const message =
    typeof err?.message === "string"
      ? `${["Error", "ResolveMessage", "BuildMessage"].includes(name) ? "" : `${name}: `}${err.message}`
      : String(e);
  const frame = /\(?((?:\/|[A-Za-z]:\\)[^\s()]+?\.(?:m?[jt]s)):(\d+):(\d+)\)?/.exec(err?.stack ?? "");
  if (frame && !frame[1]!.startsWith("/$bunfs")) return `${frame[1]}:${frame[2]}:${frame[3]}: ${message}`;
  return `${file}: ${message}`;
}

/** A TypeScript config has no parse tree to ask: the line where the path's last key first appears. */
function searchLine(text: string, path: ConfigPath): string {
  for (let n = path.length; n > 0; n--) {
    const key = path[n - 1];
    if (typeof key !== "string") continue;
    const m = new RegExp(`(^|[\\s{,"'\`])${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["'\`]?\\s*:`, "m").exec(text);
    if (m) {
      const { line, column } = lineColumn(text, m.index + m[1]!.length);
      return `:${line}:${column}`;
    }
  }
  return "";
}
