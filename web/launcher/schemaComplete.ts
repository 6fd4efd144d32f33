// Key and value completion in the configuration editor, from the JSON Schema the launcher serves: where
// the cursor is (the keys above it in YAML by indentation, in JSON by the open braces), which schema
// applies there, and the keys or values that schema allows.
import type { CompletionContext, CompletionResult, Completion } from "@codemirror/autocomplete";

/** A JSON Schema node as `labdaemon config --schema` writes them (draft-07, `$ref` into `definitions`). */
export interface SchemaNode {
  $ref?: string;
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
  const?: unknown;
  enum?: unknown[];
  definitions?: Record<string, SchemaNode>;
}

/** Where the cursor is: the keys leading to the mapping it is in, and what it is typing. */
export interface Place {
  path: string[];
  /** "key": a key of that mapping; "value": the value of `key`. */
  kind: "key" | "value";
  key?: string;
  /** Start of the word being typed. */
  from: number;
  /** JSON: the word is inside quotes already. */
  quoted?: boolean;
}

const WORD = /[\w$-]*$/;

/** The place in block-style YAML, read from the indentation of the lines above. */
export function yamlPlace(text: string, pos: number): Place | null {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  const m = /^(\s*)(?:([\w$-]+|"[^"]*"|'[^']*'):\s+)?([\w$-]*)$/.exec(before);
  if (!m) return null;
  const indent = m[1]!.length;
  const path = parentKeys(text.slice(0, lineStart).split("\n"), indent);
  if (path === null) return null;
  const from = pos - m[3]!.length;
  return m[2] !== undefined ? { path, kind: "value", key: unquote(m[2]), from } : { path, kind: "key", from };
}

/** The keys of the blocks enclosing a line indented by `indent`, outermost first; null when out of shape. */
function parentKeys(lines: string[], indent: number): string[] | null {
  const path: string[] = [];
  let within = indent;
  for (let i = lines.length - 1; i >= 0 && within > 0; i--) {
    const line = lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const lead = /^\s*/.exec(line)![0].length;
    if (lead >= within) continue;
    const key = /^\s*([\w$-]+|"[^"]*"|'[^']*'):\s*(#.*)?$/.exec(line);
    if (!key) return null; // a less indented line that opens no block: not block-style YAML we can follow
    path.unshift(unquote(key[1]!));
    within = lead;
  }
  return path;
}

function unquote(k: string): string {
  return /^["'].*["']$/.test(k) ? k.slice(1, -1) : k;
}

/** The place in JSON, from a scan of the text up to the cursor. */
export function jsonPlace(text: string, pos: number): Place | null {
  const frames: Array<{ obj: boolean; key: string | null; expectKey: boolean; pending: string | null }> = [];
  let i = 0;
  while (i < pos) {
    const c = text[i]!;
    const top = frames[frames.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (j < pos && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= pos) {
        // The cursor is inside this string.
        if (!top?.obj) return null;
        const path = frames.slice(1).map((f) => f.key ?? "");
        const from = pos - WORD.exec(text.slice(i + 1, pos))![0].length;
        return top.expectKey
          ? { path, kind: "key", from, quoted: true }
          : { path, kind: "value", key: top.pending ?? "", from, quoted: true };
      }
      const s = text.slice(i + 1, j);
      if (top?.obj && top.expectKey) top.pending = s;
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[")
      frames.push({ obj: c === "{", key: top?.obj ? top.pending : null, expectKey: c === "{", pending: null });
    else if (c === "}" || c === "]") frames.pop();
    else if (c === ":" && top?.obj) top.expectKey = false;
    else if (c === "," && top?.obj) top.expectKey = true;
    i++;
  }
  const top = frames[frames.length - 1];
  if (!top?.obj) return null;
  const path = frames.slice(1).map((f) => f.key ?? "");
  const from = pos - WORD.exec(text.slice(0, pos))![0].length;
  return top.expectKey ? { path, kind: "key", from } : { path, kind: "value", key: top.pending ?? "", from };
}

/** The schema nodes that may apply to the value at `path`: `$ref`s followed, `anyOf`s spread. */
export function schemasAt(root: SchemaNode, path: string[]): SchemaNode[] {
  let here = expand(root, root);
  for (const key of path) here = here.flatMap((s) => expand(root, child(s, key)));
  return here;
}

function child(s: SchemaNode, key: string): SchemaNode | undefined {
  if (s.properties && Object.hasOwn(s.properties, key)) return s.properties[key];
  for (const [pattern, sub] of Object.entries(s.patternProperties ?? {})) if (new RegExp(pattern).test(key)) return sub;
  return undefined;
}

function expand(root: SchemaNode, s: SchemaNode | undefined, depth = 0): SchemaNode[] {
  if (!s || depth > 8) return [];
  if (s.$ref?.startsWith("#/definitions/")) return expand(root, root.definitions?.[s.$ref.slice(14)], depth + 1);
  if (s.anyOf) return s.anyOf.flatMap((b) => expand(root, b, depth + 1));
  return [s];
}

function kindOf(s: SchemaNode): string {
  if (s.anyOf) return [...new Set(s.anyOf.map(kindOf))].join(" | ");
  if (s.patternProperties) return "map";
  return s.type ?? (s.const !== undefined ? JSON.stringify(s.const) : "");
}

/** The keys a mapping at `path` may hold, with their type and description. */
export function keyOptions(root: SchemaNode, path: string[]): Completion[] {
  const seen = new Map<string, Completion>();
  for (const s of schemasAt(root, path))
    for (const [key, sub] of Object.entries(s.properties ?? {}))
      if (!seen.has(key)) seen.set(key, { label: key, type: "property", detail: kindOf(sub), info: sub.description });
  return [...seen.values()];
}

/** The values a key at `path` may take, where the schema lists them (enums, booleans). */
export function valueOptions(root: SchemaNode, path: string[]): Completion[] {
  const values = new Set<string>();
  for (const s of schemasAt(root, path)) {
    if (typeof s.const === "string") values.add(s.const);
    for (const v of s.enum ?? []) if (typeof v === "string") values.add(v);
    if (s.type === "boolean") for (const b of ["true", "false"]) values.add(b);
  }
  return [...values].map((label) => ({ label, type: "enum" }));
}

/** A CodeMirror completion source for a YAML or JSON configuration, once `schema` is known. */
export function schemaCompletion(schema: () => SchemaNode | null, format: () => string) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const root = schema();
    const fmt = format();
    if (!root || (fmt !== "yaml" && fmt !== "yml" && fmt !== "json")) return null;
    const text = ctx.state.doc.sliceString(0, ctx.pos);
    const place = fmt === "json" ? jsonPlace(text, ctx.pos) : yamlPlace(text, ctx.pos);
    if (!place || (place.from === ctx.pos && !ctx.explicit && place.kind === "key")) return null;
    let options =
      place.kind === "key" ? keyOptions(root, place.path) : valueOptions(root, [...place.path, place.key ?? ""]);
    if (options.length === 0) return null;
    // Unquoted JSON gets its quotes; a YAML key its colon.
    if (fmt === "json" && !place.quoted)
      options = options.map((o) => ({
        ...o,
        apply:
          place.kind === "key"
            ? `"${o.label}": `
            : o.type === "enum" && /^(true|false)$/.test(o.label)
              ? o.label
              : `"${o.label}"`,
      }));
    else if (fmt !== "json" && place.kind === "key") options = options.map((o) => ({ ...o, apply: `${o.label}: ` }));
    return { from: place.from, options, validFor: /^[\w$-]*$/ };
  };
}
