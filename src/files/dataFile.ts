// JSON and YAML files read for their data, with positions: a syntax error says file:line:column, and
// a value found wrong later can be located by its path (lab configs, simulator definitions).
import { extname } from "node:path";
import { LineCounter, parseDocument, isNode, visit, type Document } from "yaml";
import { findJsonSyntaxError, lineColumn } from "./jsonSyntax.ts";

export type DataPath = ReadonlyArray<string | number>;

export interface DataFile {
  raw: unknown;
  /** ":line:column" of the value at `path` (or of its deepest existing parent); "" when unknown. */
  position(path: DataPath): string;
}

/** Lab files are hand-written; anything bigger is a mistake (or an attack) worth a clear refusal. */
export const MAX_DATA_FILE_BYTES = 16 << 20;
/** Alias expansions allowed when a YAML document is turned into data ("billion laughs" stops here). */
export const MAX_YAML_ALIASES = 100;

/** `bytes` as strict UTF-8 (the byte offset of the first invalid sequence is named); a leading BOM is dropped. */
export function decodeDataFile(file: string, bytes: Uint8Array, fail: (message: string) => Error): string {
  if (bytes.byteLength > MAX_DATA_FILE_BYTES) {
    throw fail(`${file}: ${bytes.byteLength} bytes is too big for a data file (at most ${MAX_DATA_FILE_BYTES})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fail(`${file}: not UTF-8: invalid byte sequence at byte offset ${firstInvalidUtf8(bytes)}`);
  }
}

/** Offset of the first byte that does not start (or continue) a well-formed UTF-8 sequence, or the length. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      // Overlong forms, surrogates and code points past U+10FFFF.
      if (
        k === 1 &&
        ((c === 0xe0 && d < 0xa0) || (c === 0xed && d > 0x9f) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d > 0x8f))
      )
        return i;
    }
    i += n;
  }
  return b.length;
}

/** Parses `text` (JSON when `file` ends in .json, else YAML); syntax errors become `fail(message)`. */
export function parseDataFile(file: string, text: string, fail: (message: string) => Error): DataFile {
  // YAML would accept what strict JSON refuses (trailing commas, comments): check JSON as JSON first.
  if (extname(file).toLowerCase() === ".json") {
    const bad = findJsonSyntaxError(text);
    if (bad) {
      const { line, column } = lineColumn(text, bad.offset);
      throw fail(`${file}:${line}:${column}: invalid JSON: ${bad.message}`);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    throw fail(`${file}:${pos.line}:${pos.col}: invalid YAML: ${e.message.split("\n")[0]}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // The yaml library throws a bare ReferenceError when aliases expand too far.
    throw fail(
      `${file}${firstAliasPosition(doc, lines)}: invalid YAML: aliases expand too far (${(e as Error).message})`,
    );
  }
  return { raw, position: (path) => positionIn(doc, lines, path) };
}

/** ":line:column" of the first alias (`*name`), where an expansion starts; "" when there is none. */
function firstAliasPosition(doc: Document, lines: LineCounter): string {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.range) at = node.range[0];
      return visit.BREAK;
    },
  });
  if (at === undefined) return "";
  const { line, col } = lines.linePos(at);
  return `:${line}:${col}`;
}

/** ":line:column" of the deepest node of `path` that exists. */
function positionIn(doc: Document, lines: LineCounter, path: DataPath): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      // A map's key line reads better than where its value starts (often the next line).
      const parent = n > 0 ? (n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)) : null;
      const key =
        parent && isNode(parent) && "items" in parent
          ? (parent.items as Array<{ key?: unknown }>).find(
              (p) => isNode(p?.key) && (p.key as { value?: unknown }).value === path[n - 1],
            )?.key
          : null;
      const at = key && isNode(key) && key.range ? key.range[0] : node.range[0];
      const { line, col } = lines.linePos(at);
      return `:${line}:${col}`;
    }
  }
  return "";
}
