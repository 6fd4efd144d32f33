// The editor's inline check: the text, unsaved, is sent to POST /api/config/check as one types (after a
// pause) and every problem comes back as a lint mark at its line and column.
import type { Diagnostic } from "@codemirror/lint";
import type { Text } from "@codemirror/state";
import { api, ApiError } from "../shared/api.ts";
import type { ConfigCheck } from "./types.ts";

/** A 1-based line and column as a range of `doc`: from there to the end of the line. */
export function rangeAt(doc: Text, line: number | undefined, column: number | undefined): { from: number; to: number } {
  const l = doc.line(Math.min(Math.max(1, line ?? 1), doc.lines));
  const from = Math.min(l.from + Math.max(0, (column ?? 1) - 1), l.to);
  return { from, to: from < l.to ? l.to : from };
}

/** The server's problems for `text` in `format`, as diagnostics of `doc`. */
export async function checkDiagnostics(doc: Text, format: string): Promise<Diagnostic[]> {
  let check: ConfigCheck;
  try {
    check = await api<ConfigCheck>("POST", `/api/config/check?format=${encodeURIComponent(format)}`, doc.toString(), {
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  } catch (e) {
    // The check itself failed (launcher gone, body too large): say so once, at the top.
    const message = e instanceof ApiError ? `not checked: ${e.message}` : `not checked: ${(e as Error).message}`;
    return [{ from: 0, to: 0, severity: "warning", message }];
  }
  return check.problems.map((p) => ({ ...rangeAt(doc, p.line, p.column), severity: "error", message: p.message }));
}
