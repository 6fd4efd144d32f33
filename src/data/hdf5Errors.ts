// HDF5's own error reports: h5wasm prints them (a failed write on a full disk) to stderr instead of
// throwing, so the writer collects what the library prints during each operation and turns it into an
// error. Emscripten prints through `require("fs").writeSync(2, …)`, looked up at each call: hooked here.
import { createRequire } from "node:module";

/** The object h5wasm's own `require("fs")` returns. */
const fs = createRequire(import.meta.url)("fs") as typeof import("node:fs");

let captured: string[] = [];
const decoder = new TextDecoder();
const writeSync = fs.writeSync;

const DIAGNOSTIC = /HDF5-DIAG|H5[A-Za-z0-9_]*\.c line \d+|major: |minor: |error message = |^, filename = /;

/** Set while an operation runs: all it prints is the library's (it prints its reports in pieces). */
let capturing = false;

/** Keeps the library's diagnostics for the error; true when `text` was one. */
function keep(text: string): boolean {
  if (!capturing && !DIAGNOSTIC.test(text)) return false;
  if (captured.length < 400) captured.push(text);
  return true;
}

(fs as { writeSync: unknown }).writeSync = (fd: number, buffer: unknown, ...rest: unknown[]): number => {
  // Emscripten hands over a view of its heap (an Int8Array), with offset and length in elements = bytes.
  if (fd === 2 && ArrayBuffer.isView(buffer)) {
    const offset = typeof rest[0] === "number" ? rest[0] : 0;
    const length = typeof rest[1] === "number" ? rest[1] : buffer.byteLength - offset;
    if (keep(decoder.decode(new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length)))) return length;
  }
  return (writeSync as (...a: unknown[]) => number).call(fs, fd, buffer, ...rest);
};

/** Runs `op`; throws when HDF5 reported an error during it (the OS's message first, when it gave one). */
export function checked<T>(op: () => T): T {
  captured = [];
  capturing = true;
  let out: T;
  try {
    out = op();
  } finally {
    capturing = false;
  }
  if (captured.length > 0) {
    const text = captured.join("");
    captured = [];
    const os = /error message = '([^']+)'/.exec(text)?.[1];
    const minor = /minor: (Write failed)/.exec(text)?.[1] ?? /minor: ([^\n]+)/.exec(text)?.[1]?.trim();
    throw new Error(os ? `${os} (HDF5: ${minor ?? "write failed"})` : `HDF5: ${minor ?? text.split("\n")[0]}`);
  }
  return out;
}
