// A configuration file's text as serve reads it: a regular file, at most MAX_CONFIG_BYTES, strict UTF-8
// (the first bad byte located by line and column).
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./configError.ts";
import { firstInvalidUtf8 } from "../files/dataFile.ts";
import { lineColumn } from "../files/jsonSyntax.ts";

/** Larger than any hand-written lab; a bigger file is a mistake, and parsing it would take seconds and GBs. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export function readText(file: string): string {
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new ConfigError(`${file}: is a directory, not a config file`);
    // A FIFO or device would block the read forever, or never end.
    if (!st.isFile()) throw new ConfigError(`${file}: not a regular file`);
    if (st.size > MAX_CONFIG_BYTES)
      throw new ConfigError(`${file}: config file too large (${st.size} bytes; at most ${MAX_CONFIG_BYTES})`);
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ConfigError(`${file}: config file not found`);
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  // Grown between stat and read: the cap holds for what was read.
  if (bytes.length > MAX_CONFIG_BYTES)
    throw new ConfigError(`${file}: config file too large (more than ${MAX_CONFIG_BYTES} bytes)`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder().decode(bytes.subarray(0, at));
    const { line, column } = lineColumn(before, before.length);
    throw new ConfigError(
      `${file}:${line}:${column}: not UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, "0")} at offset ${at}); save the file as UTF-8`,
    );
  }
}
