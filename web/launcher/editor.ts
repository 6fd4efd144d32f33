// The configuration editor: CodeMirror 6 with the file's language, and the server's validation error
// shown inline (a lint diagnostic at its line and column) until the text changes. A lean setup rather than
// `basicSetup` (no autocompletion, search panel or folding): the page must load in well under 300 ms and
// every kilobyte of script is parsed on each load.
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
import { lintGutter, setDiagnostics } from "@codemirror/lint";

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
        keymap.of([...defaultKeymap, ...historyKeymap]),
        lang.of(yaml()),
        lintGutter(),
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
    setText(text, format) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        effects: lang.reconfigure(language(format)),
      });
    },
    showError(error) {
      if (!error) {
        view.dispatch(setDiagnostics(view.state, []));
        return;
      }
      const doc = view.state.doc;
      const lineNo = Math.min(Math.max(1, error.line ?? 1), doc.lines);
      const line = doc.line(lineNo);
      const from = Math.min(line.from + Math.max(0, (error.column ?? 1) - 1), line.to);
      const to = from < line.to ? line.to : from;
      view.dispatch(setDiagnostics(view.state, [{ from, to, severity: "error", message: error.message }]));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    onChange(fn) {
      listeners.push(fn);
    },
  };
}
