// The tasks panel: start a task from its type's params schema (GET /types), and every task with a live
// progress bar (fed by /stream/tasks), its status, elapsed time, controls, and its result or error.
import { html } from "htm/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../shared/api.ts";
import { collectValues, fieldsOfObject, SchemaFields, type JsonSchema } from "./schemaForm.ts";
import {
  ErrorView,
  formatDuration,
  JsonTree,
  Light,
  OutcomeView,
  outcomeOf,
  SeriesPlot,
  seriesOf,
  type LightColor,
  type Outcome,
} from "./views.ts";

export interface TaskView {
  task_id: string;
  task_type: string;
  status: string;
  running: boolean;
  progress: { fraction: number; message?: string };
  started_at?: string;
  finished_at?: string | null;
  device_ids?: string[];
  /** Present once the detail of a finished task was read. */
  result?: unknown;
  exception?: unknown;
  detailLoaded?: boolean;
}

export interface TypeInfo {
  type: string;
  params: JsonSchema | null;
}

const STATUS_COLOR: Record<string, LightColor> = {
  running: "busy",
  paused: "warn",
  completed: "ok",
  failed: "bad",
  cancelled: "off",
};

export function TasksPanel({
  tasks,
  types,
  now,
  onChanged,
}: {
  tasks: TaskView[];
  types: TypeInfo[] | null;
  now: number;
  onChanged: () => void;
}) {
  return html`<section class="panel" aria-labelledby="tasks-h">
    <h2 id="tasks-h">Tasks</h2>
    <${StartTask} types=${types} taken=${new Set(tasks.map((t) => t.task_id))} onStarted=${onChanged} />
    ${tasks.length === 0 ? html`<p class="empty">No tasks yet.</p>` : null}
    <div class="tasks">
      ${tasks.map((t) => html`<${TaskRow} key=${t.task_id} task=${t} now=${now} />`)}
    </div>
  </section>`;
}

/** "sweep-3" for SweepTask: the first number no task here has yet. */
function freeId(type: string, taken: Set<string>): string {
  const stem = type.replace(/Task$/, "").toLowerCase() || "task";
  let n = 1;
  while (taken.has(`${stem}-${n}`)) n++;
  return `${stem}-${n}`;
}

function StartTask({
  types,
  taken,
  onStarted,
}: {
  types: TypeInfo[] | null;
  taken: Set<string>;
  onStarted: () => void;
}) {
  const [type, setType] = useState<string>("");
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [taskId, setTaskId] = useState("");
  useEffect(() => {
    if (!type && types && types.length > 0) setType(types[0]!.type);
  }, [types]);
  const info = types?.find((t) => t.type === type) ?? null;
  const specs = fieldsOfObject(info?.params ?? null);
  const defaultId = freeId(type, taken);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    let params: unknown = collectValues(form, specs);
    if (info && info.params === null) {
      // A task type that declares no schema takes its params as JSON.
      const raw = (form.elements.namedItem("raw-params") as HTMLTextAreaElement).value.trim();
      try {
        params = raw ? JSON.parse(raw) : {};
      } catch (e) {
        setOutcome({
          ok: false,
          status: 0,
          envelope: { error: { type: "InvalidJson", message: `params: ${(e as Error).message}` } },
        });
        return;
      }
    }
    const id = taskId.trim() || defaultId;
    try {
      await api("POST", "/tasks", { task_id: id, task_type: type, params });
      setOutcome(null);
      setTaskId("");
    } catch (e) {
      setOutcome(outcomeOf(e));
    }
    onStarted();
  };
  if (types === null) return html`<p>Loading task types…</p>`;
  if (types.length === 0) return html`<p>No task types registered on this server.</p>`;
  return html`<form class="start-task" onSubmit=${submit} noValidate aria-label="Start a task">
    <div class="field">
      <label for="task-type">task type</label>
      <select id="task-type" name="task_type" value=${type} onChange=${(e: Event) => setType((e.target as HTMLSelectElement).value)}>
        ${types.map((t) => html`<option value=${t.type}>${t.type}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="task-id">task id</label>
      <input id="task-id" name="task_id" type="text" placeholder=${defaultId} value=${taskId}
        onInput=${(e: Event) => setTaskId((e.target as HTMLInputElement).value)} />
    </div>
    <div class="fields" key=${type}>
      ${
        info && info.params === null
          ? html`<div class="field"><label for="raw-params">params (JSON)</label><textarea id="raw-params" name="raw-params" rows="3">{}</textarea></div>`
          : html`<${SchemaFields} specs=${specs} prefix=${`t-${type}`} />`
      }
    </div>
    <button type="submit" class="start">Start ${type}</button>
    <${OutcomeView} outcome=${outcome} />
  </form>`;
}

function TaskRow({ task: t, now }: { task: TaskView; now: number }) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [trace, setTrace] = useState<string | null>(null);
  const path = `/tasks/${encodeURIComponent(t.task_id)}`;
  const control = async (what: string) => {
    try {
      await api("POST", `${path}/${what}`);
      setOutcome(null);
    } catch (e) {
      setOutcome(outcomeOf(e));
    }
  };
  const pct = Math.round(Math.max(0, Math.min(1, t.progress.fraction)) * 100);
  const startedMs = t.started_at ? Date.parse(t.started_at) : null;
  const endMs = t.finished_at ? Date.parse(t.finished_at) : now;
  const live = t.status === "running" || t.status === "paused";
  // Memoised on the result itself: the row re-renders every second (elapsed time), the chart must not.
  const series = useMemo(
    () => (t.detailLoaded && t.result !== undefined ? seriesOf(t.result) : null),
    [t.detailLoaded, t.result],
  );
  const showTrace = async () => {
    try {
      const stored = await api<{ error: { traceback?: string } }>("GET", `${path}/error`);
      setTrace(stored.error.traceback ?? "(no traceback recorded)");
    } catch (e) {
      setOutcome(outcomeOf(e));
    }
  };
  return html`<article class="task" data-task=${t.task_id} data-status=${t.status} aria-label=${`task ${t.task_id}`}>
    <header>
      <h3>${t.task_id}</h3> <span class="task-type">${t.task_type}</span>
      <${Light} color=${STATUS_COLOR[t.status] ?? "off"} word=${t.status} />
      <span class="elapsed" title="elapsed">${startedMs !== null ? formatDuration(endMs - startedMs) : ""}</span>
    </header>
    <div class="progress-row">
      <progress max="100" value=${pct} aria-label=${`progress of ${t.task_id}`}></progress>
      <span class="pct">${pct} %</span>
      <span class="progress-message">${t.progress.message ?? ""}</span>
    </div>
    ${t.device_ids && t.device_ids.length > 0 ? html`<div class="task-devices">devices: ${t.device_ids.join(", ")}</div>` : null}
    <div class="buttons">
      <button type="button" class="pause" disabled=${t.status !== "running"} onClick=${() => control("pause")}>Pause</button>
      <button type="button" class="resume" disabled=${t.status !== "paused"} onClick=${() => control("resume")}>Resume</button>
      <button type="button" class="cancel" disabled=${!live} onClick=${() => control("cancel")}>Cancel</button>
      <button type="button" class="force-cancel" disabled=${!live} onClick=${() => control("cancel?force=true")}
        title="Record the task cancelled and free its devices at once, even if its code ignores the cancel">Force cancel</button>
    </div>
    <${OutcomeView} outcome=${outcome} />
    ${
      t.exception
        ? html`<div class="task-error">
      <${ErrorView} status=${0} envelope=${t.exception} />
      <button type="button" onClick=${() => (trace === null ? showTrace() : setTrace(null))}>${trace === null ? "Traceback" : "Hide traceback"}</button>
      ${trace !== null ? html`<pre class="traceback">${trace}</pre>` : null}
    </div>`
        : null
    }
    ${series ? html`<${SeriesPlot} series=${series} />` : null}
    ${t.detailLoaded && t.result !== null && t.result !== undefined ? html`<div class="task-result"><${JsonTree} name="result" value=${t.result} open=${!series} /></div>` : null}
  </article>`;
}
