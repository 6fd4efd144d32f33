// A function's parameter names and literal defaults, read from its source text (for devices whose
// class declares no schemas): the names POST /call's kwargs bind to and GET /methods lists.

export interface ParsedParam {
  name: string;
  rest: boolean;
  hasDefault: boolean;
  default?: unknown;
}

/** Names and literal defaults of a function's parameters, read from its source text. */
export function parseParameters(fn: Function): ParsedParam[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return [];
  }
  const list = parameterListText(stripComments(src));
  if (list === null) return [];
  return splitTopLevel(list)
    .map((raw, i) => parseOne(raw.trim(), i))
    .filter((p): p is ParsedParam => p !== null);
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/**
 * Walks `text` from `from`, skipping string literals, and calls `visit` with each character outside them
 * and the bracket depth after it; stops when `visit` returns true. Returns the stop index or -1.
 */
function scan(text: string, from: number, visit: (c: string, i: number, depth: number) => boolean | void): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    if (visit(c, i, depth)) return i;
  }
  return -1;
}

/** The text between the first `(` and its matching `)`; a bare arrow parameter `x => …` too. */
function parameterListText(src: string): string | null {
  const open = src.indexOf("(");
  const arrow = src.indexOf("=>");
  if (arrow >= 0 && (open < 0 || arrow < open)) {
    return src
      .slice(0, arrow)
      .replace(/^async\s+/, "")
      .trim();
  }
  if (open < 0) return null;
  const close = scan(src, open, (c, _i, depth) => depth === 0 && c === ")");
  return close < 0 ? null : src.slice(open + 1, close);
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scan(list, 0, (c, i, depth) => {
    if (c === "," && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  });
  parts.push(list.slice(start));
  return parts.filter((p) => p.trim().length > 0);
}

function parseOne(raw: string, index: number): ParsedParam | null {
  if (!raw) return null;
  const rest = raw.startsWith("...");
  const body = rest ? raw.slice(3).trim() : raw;
  const eq = topLevelEquals(body);
  const target = (eq < 0 ? body : body.slice(0, eq)).trim();
  // Destructured parameters have no single name.
  const name = /^[A-Za-z_$][\w$]*$/.test(target) ? target : `arg${index}`;
  if (eq < 0) return { name, rest, hasDefault: false };
  return { name, rest, hasDefault: true, default: literal(body.slice(eq + 1).trim()) };
}

function topLevelEquals(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "=" && depth === 0 && s[i + 1] !== ">" && s[i + 1] !== "=") return i;
  }
  return -1;
}

/** A default written as a JSON-ish literal becomes that value; any other expression, its source text. */
function literal(text: string): unknown {
  if (text === "undefined" || text === "void 0") return null;
  // Bun's transpiler rewrites boolean literals in the source it keeps.
  if (text === "!0") return true;
  if (text === "!1") return false;
  if (/^'(?:[^'\\]|\\.)*'$/.test(text)) {
    try {
      return JSON.parse(`"${text.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`);
    } catch {
      return text.slice(1, -1);
    }
  }
  try {
    const v = JSON.parse(text);
    if (v === null || ["number", "string", "boolean"].includes(typeof v)) return v;
  } catch {
    // not JSON
  }
  return text;
}
