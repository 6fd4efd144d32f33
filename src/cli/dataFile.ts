// JSON and YAML files read for their data, with positions: a syntax error says file:line:column, and
// a value found wrong later can be located by its path (lab configs, simulator definitions).
import { extname } from "node:path";
import { LineCounter, parseDocument, isNode, type Document } from "yaml";
import { findJsonSyntaxError, lineColumn } from "./jsonSyntax.ts";

export type DataPath = ReadonlyArray<string | number>;

export interface DataFile {
  raw: unknown;
  /** ":line:column" of the value at `path` (or of its deepest existing parent); "" when unknown. */
  position(path: DataPath): string;
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
  return { raw: doc.toJS({ maxAliasCount: 100 }), position: (path) => positionIn(doc, lines, path) };
}

/** ":line:column" of the deepest node of `path` that exists. */
function positionIn(doc: Document, lines: LineCounter, path: DataPath): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      // A map's key line reads better than where its value starts (often the next line).
      const parent = n > 0 ? (n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)) : null;
      const key = parent && isNode(parent) && "items" in parent
        ? (parent.items as Array<{ key?: unknown }>).find((p) => isNode(p?.key) && (p.key as { value?: unknown }).value === path[n - 1])?.key
        : null;
      const at = key && isNode(key) && key.range ? key.range[0] : node.range[0];
      const { line, col } = lines.linePos(at);
      return `:${line}:${col}`;
    }
  }
  return "";
}
