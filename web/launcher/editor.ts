// The configuration editor: CodeMirror 6 with the file's language; the launcher's check of the unsaved
// text shown inline as one types (lint marks at line and column), a failed save's error likewise until the
// text changes, and keys and values completed from the configuration's JSON Schema. A lean setup rather
// than `basicSetup` (no search panel or folding): every kilobyte of script is parsed on each load.
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { Compartment, EditorState } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { json } from "@codemirror/lang-json";
import { javascript } from "@codemirror/lang-javascript";
import { type Diagnostic, linter, lintGutter, setDiagnostics } from "@codemirror/lint";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { api } from "../shared/api.ts";
import { checkDiagnostics, rangeAt } from "./configLint.ts";
import { type SchemaNode, schemaCompletion } from "./schemaComplete.ts";

/** A pause in typing this long sends the text to be checked. */
const CHECK_DELAY_MS = 400;

export interface ConfigEditor {
  view: EditorView;
  text(): string;
  setText(text: string, format: string): void;
  /** Marks line:column (1-based) with the message; null clears. */
  showError(error: { line?: number; column?: number; message: string } | null): void;
  onChange(fn: () => void): void;
}

function language(format: string) {
  if (format === "json") return json();
  if (format === "ts" || format === "js" || format === "mjs") return javascript({ typescript: format === "ts" });
  return yaml();
}

export function createEditor(parent: HTMLElement, label: string): ConfigEditor {
  const lang = new Compartment();
  const listeners: Array<() => void> = [];
  let format = "yaml";
  let schema: SchemaNode | null = null;
  void api<SchemaNode>("GET", "/api/config/schema").then(
    (s) => {
      schema = s;
    },
    () => {}, // no completion, the editor works without it
  );
  // A save's error (or the load error) stays until the text changes; the check would replace it.
  let shown: { doc: EditorState["doc"]; diagnostics: Diagnostic[] } | null = null;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: "",
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        drawSelection(),
        history(),
        indentOnInput(),
        bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap]),
        lang.of(yaml()),
        lintGutter(),
        linter(
          (v) => (shown && shown.doc === v.state.doc ? shown.diagnostics : checkDiagnostics(v.state.doc, format)),
          { delay: CHECK_DELAY_MS },
        ),
        autocompletion({
          override: [
            schemaCompletion(
              () => schema,
              () => format,
            ),
          ],
        }),
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) for (const l of listeners) l();
        }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text, fmt) {
      format = fmt;
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        effects: lang.reconfigure(language(fmt)),
      });
    },
    showError(error) {
      const doc = view.state.doc;
      if (!error) {
        shown = { doc, diagnostics: [] };
        view.dispatch(setDiagnostics(view.state, []));
        return;
      }
      const { from, to } = rangeAt(doc, error.line, error.column);
      shown = { doc, diagnostics: [{ from, to, severity: "error", message: error.message }] };
      view.dispatch(setDiagnostics(view.state, shown.diagnostics));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    onChange(fn) {
      listeners.push(fn);
    },
  };
}
