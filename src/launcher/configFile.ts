// Saving the lab configuration from the page: the new text is validated as a whole by serve's parser, and
// against the built-in drivers as serve checks when it builds the lab, before anything is replaced; the
// write is atomic (a sibling file renamed over it) and the previous version is kept as FILE.bak.
import { copyFileSync, existsSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, extname, join } from "node:path";
import { MAX_CONFIG_BYTES } from "../cli/config.ts";
import { checkConfigText, formatOf } from "../cli/configCheck.ts";
import { HttpError } from "../server/errors.ts";
import { readProfiles, type ProfileInfo } from "./profiles.ts";

/** A validation failure, located: `file:line:col` of the problem when the parser knows it. */
export function configProblem(message: string, file: string, temp?: string): HttpError {
  const text = temp ? message.split(temp).join(file) : message;
  const m = /^(.*?):(\d+):(\d+): ([\s\S]*)$/.exec(text);
  const context = m
    ? { file: m[1], line: Number(m[2]), column: Number(m[3]), problem: m[4] }
    : { file, problem: text.startsWith(`${file}: `) ? text.slice(file.length + 2) : text };
  return new HttpError(422, "ConfigError", text, context);
}

let saving: Promise<unknown> = Promise.resolve();

/**
 * Validates `text` as the content of `file`, then replaces the file with it (FILE.bak keeps the old one).
 * Saves run one at a time; a module that never finishes loading is given up after serve's bound
 * (`timeoutMs`), so it holds up no later save.
 */
export function saveConfig(file: string, text: string, opts: { timeoutMs?: number } = {}): Promise<ProfileInfo[]> {
  const run = saving.then(() => save(file, text, opts));
  saving = run.catch(() => {});
  return run;
}

async function save(file: string, text: string, opts: { timeoutMs?: number }): Promise<ProfileInfo[]> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES)
    throw new HttpError(413, "PayloadTooLarge", `the configuration is ${bytes} bytes; at most ${MAX_CONFIG_BYTES}`);
  // Beside the file, with its extension: relative imports of a .ts config resolve as they will for it.
  const temp = join(
    dirname(file),
    `.${basename(file, extname(file))}.${randomBytes(4).toString("hex")}.saving${extname(file)}`,
  );
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o644;
  writeFileSync(temp, text, { mode });
  try {
    let profiles: ProfileInfo[];
    try {
      profiles = await readProfiles(temp, opts);
    } catch (e) {
      throw configProblem((e as Error).message, file, temp);
    }
    // serve would refuse these only when it builds the lab: an unknown device type, params its driver refuses.
    const format = formatOf(file);
    const first = format ? checkConfigText(text, format).problems[0] : undefined;
    if (first) {
      const at = first.line ? `:${first.line}:${first.column ?? 1}` : "";
      throw configProblem(`${file}${at}: ${first.message}`, file);
    }
    if (existsSync(file)) copyFileSync(file, `${file}.bak`);
    renameSync(temp, file);
    return profiles;
  } finally {
    rmSync(temp, { force: true });
  }
}
