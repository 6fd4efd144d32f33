// A configuration file's text as serve reads it: a regular file, at most MAX_CONFIG_BYTES, strict UTF-8
// (the first bad byte located by line and column).
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./configError.ts";
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

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or the length. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return i;
    i += n + 1;
  }
  return b.length;
}
