// The dashboard of one server: its devices, tasks and live plots, through the public HTTP/SSE API only.
// Asks for the token when the server wants one (kept in this tab's sessionStorage).
import "uplot/dist/uPlot.min.css";
import { html, render } from "htm/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, currentToken, setToken, streamUrl, takeToken } from "../shared/api.ts";
import { DevicesPanel, type DeviceInfo } from "./devices.ts";
import { MAX_PLOTS, PlotsPanel, type PlotSpec } from "./plots.ts";
import { RunsPanel } from "./runs.ts";
import { TasksPanel, type TaskView, type TypeInfo } from "./tasks.ts";
import { ErrorView, formatDuration, outcomeOf, type Outcome } from "./views.ts";

interface ServerInfo {
  name: string;
  version: string;
  uptime_s?: number;
}

type Gate =
  | { phase: "probing" }
  | { phase: "token"; wrong: boolean }
  | { phase: "unreachable"; outcome: Outcome }
  | { phase: "ready"; info: ServerInfo; tokenRequired: boolean; loadedAt: number };

const DEVICE_POLL_MS = 1000;
const TASK_EVENTS = [
  "task_started",
  "task_progress",
  "task_paused",
  "task_resumed",
  "task_completed",
  "task_failed",
  "task_cancelled",
];
const FINAL = new Set(["completed", "failed", "cancelled"]);
/** Tasks the page keeps; beyond it the oldest finished ones go (the server keeps its own bounded history). */
const MAX_TASKS = 100;

function boundTasks(tasks: Map<string, TaskView>): Map<string, TaskView> {
  if (tasks.size <= MAX_TASKS) return tasks;
  const finished = [...tasks.values()]
    .filter((t) => FINAL.has(t.status))
    .sort((a, b) => (a.started_at ?? "").localeCompare(b.started_at ?? ""));
  for (const t of finished.slice(0, tasks.size - MAX_TASKS)) tasks.delete(t.task_id);
  return tasks;
}

/**
 * The device list, asked for at once beside the probe rather than after it: the cards are the first
 * thing a person looks for, and this saves a round trip before they show (a 401 here is simply unused).
 */
let earlyDevices: Promise<{ devices: DeviceInfo[] } | null> | null = null;

/** Whether the server wants a token: it answers /health without one, and / only with a good one. */
async function probe(): Promise<Gate> {
  try {
    const info = await api<ServerInfo>("GET", "/");
    const hadToken = currentToken() !== null;
    let tokenRequired = false;
    if (hadToken) {
      const bare = await fetch("/", { headers: { Accept: "application/json" } }).catch(() => null);
      tokenRequired = bare?.status === 401;
    }
    return { phase: "ready", info, tokenRequired, loadedAt: Date.now() };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return { phase: "token", wrong: takeToken() !== null };
    return { phase: "unreachable", outcome: outcomeOf(e) };
  }
}

function App() {
  const [gate, setGate] = useState<Gate>({ phase: "probing" });
  const retry = useCallback(() => {
    setGate({ phase: "probing" });
    probe().then(setGate);
  }, []);
  // The first probe started with the script (below), not after the first paint as an effect would.
  useEffect(() => void firstProbe.then(setGate), []);

  if (gate.phase === "probing") return html`<p class="probing">Connecting to the server…</p>`;
  if (gate.phase === "unreachable") {
    return html`<div class="gate"><h1>labdaemon dashboard</h1>
      <p>The server did not answer as expected.</p>
      ${gate.outcome && !gate.outcome.ok ? html`<${ErrorView} status=${gate.outcome.status} envelope=${gate.outcome.envelope} />` : null}
      <button type="button" onClick=${retry}>Try again</button></div>`;
  }
  if (gate.phase === "token")
    return html`<${TokenForm} wrong=${gate.wrong} onToken=${(t: string) => {
      setToken(t);
      retry();
    }} />`;
  return html`<${Dashboard} gate=${gate} onRefused=${retry} onForget=${() => {
    setToken(null);
    retry();
  }} />`;
}

function TokenForm({ wrong, onToken }: { wrong: boolean; onToken: (t: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return html`<form class="gate token-form" onSubmit=${(e: Event) => {
    e.preventDefault();
    const v = input.current!.value.trim();
    if (v) onToken(v);
  }}>
    <h1>labdaemon dashboard</h1>
    <p>This server needs its access token (given to <code>labdaemon serve --token</code> or <code>LABDAEMON_TOKEN</code>).
      It is kept in this browser tab only.</p>
    ${wrong ? html`<p class="token-wrong" role="alert"><strong>Wrong token:</strong> the server refused it (401 Unauthorized). Check it and enter it again.</p>` : null}
    <label for="token">token</label>
    <input id="token" ref=${input} type="password" autocomplete="off" />
    <button type="submit">Open dashboard</button>
  </form>`;
}

function Dashboard({
  gate,
  onForget,
  onRefused,
}: {
  gate: Extract<Gate, { phase: "ready" }>;
  onForget: () => void;
  /** The server refused the task feed for good (a server back with another token): ask it again. */
  onRefused: () => void;
}) {
  const [devices, setDevices] = useState<DeviceInfo[] | null>(null);
  const [devicesError, setDevicesError] = useState<Outcome>(null);
  const [types, setTypes] = useState<TypeInfo[] | null>(null);
  const [tasks, setTasks] = useState<Map<string, TaskView>>(new Map());
  const [plots, setPlots] = useState<PlotSpec[]>([]);
  const [now, setNow] = useState(Date.now());
  const [taskFeed, setTaskFeed] = useState<"connecting" | "live" | "reconnecting">("connecting");
  const plotKey = useRef(0);

  const refreshDevices = useCallback(() => {
    api<{ devices: DeviceInfo[] }>("GET", "/devices")
      .then((r) => {
        setDevices(r.devices);
        setDevicesError(null);
      })
      .catch((e) => setDevicesError(outcomeOf(e)));
  }, []);

  const mergeTask = useCallback((id: string, patch: Partial<TaskView>) => {
    setTasks((old) => {
      const next = new Map(old);
      const prev = next.get(id);
      next.set(id, {
        task_id: id,
        task_type: "",
        status: "running",
        running: true,
        progress: { fraction: 0 },
        ...prev,
        ...patch,
      } as TaskView);
      return boundTasks(next);
    });
  }, []);

  const loadTask = useCallback((id: string) => {
    api<TaskView>("GET", `/tasks/${encodeURIComponent(id)}`)
      .then((d) =>
        setTasks((old) => {
          // A detail read while the task ran must not undo the final state an event brought meanwhile.
          const prev = old.get(id);
          if (d.running && prev && FINAL.has(prev.status)) return old;
          return boundTasks(new Map(old).set(id, { ...prev, ...d, detailLoaded: !d.running }));
        }),
      )
      .catch(() => {});
  }, []);

  useEffect(() => {
    const early = earlyDevices;
    earlyDevices = null;
    if (early) early.then((r) => (r ? setDevices((d) => d ?? r.devices) : refreshDevices()));
    else refreshDevices();
    const poll = setInterval(() => {
      if (!document.hidden) refreshDevices();
    }, DEVICE_POLL_MS);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    api<{ devices: TypeInfo[]; tasks: TypeInfo[] }>("GET", "/types")
      .then((r) => setTypes(r.tasks))
      .catch(() => setTypes([]));
    const loadTasks = () =>
      api<{ tasks: { task_id: string }[] }>("GET", "/tasks")
        .then((r) => {
          for (const t of r.tasks) loadTask(t.task_id);
        })
        .catch(() => {});
    loadTasks();
    // Task lifecycle and progress arrive as events; a finished task's result is read once, from its detail.
    const es = new EventSource(streamUrl("/stream/tasks"));
    let feedOpened = false;
    es.onopen = () => {
      setTaskFeed("live");
      // Back after a break (a dropped connection, a restarted server): the events sent meanwhile are lost,
      // so every task is read again; one that ended then would otherwise show "running" for good.
      if (feedOpened) loadTasks();
      feedOpened = true;
    };
    es.onerror = () => {
      setTaskFeed("reconnecting");
      // EventSource gives up on an answer that is not a stream (a 401 from a server restarted with
      // another token): probing again shows the token form, or the dashboard afresh.
      if (es.readyState === EventSource.CLOSED) onRefused();
    };
    const onEvent = (ev: MessageEvent) => {
      const e = JSON.parse(ev.data as string) as {
        task_id: string;
        task_type: string;
        status: string;
        progress?: TaskView["progress"];
        event: string;
      };
      // Lifecycle events set the status; progress events only move the bar (a server from before progress
      // events carried the paused state said "running" in them).
      const lifecycle = e.event !== "task_progress";
      mergeTask(e.task_id, {
        task_type: e.task_type,
        ...(lifecycle ? { status: e.status, running: !FINAL.has(e.status) } : {}),
        ...(e.progress ? { progress: e.progress } : {}),
      });
      if (e.event === "task_started" || FINAL.has(e.status)) {
        loadTask(e.task_id);
        refreshDevices(); // ownership follows the task
      }
    };
    for (const name of TASK_EVENTS) es.addEventListener(name, onEvent as EventListener);
    return () => {
      clearInterval(poll);
      clearInterval(tick);
      es.close();
    };
  }, []);

  const addPlot = (deviceId: string) =>
    setPlots((p) => (p.length >= MAX_PLOTS ? p : [...p, { key: ++plotKey.current, deviceId }]));
  const plotsFull = plots.length >= MAX_PLOTS;
  const uptime =
    gate.info.uptime_s !== undefined ? formatDuration(gate.info.uptime_s * 1000 + (now - gate.loadedAt)) : "—";
  const token = currentToken();
  const q = token ? `?token=${encodeURIComponent(token)}` : "";
  const taskList = [...tasks.values()].sort((a, b) => (b.started_at ?? "").localeCompare(a.started_at ?? ""));

  return html`<header class="top">
      <h1>${gate.info.name} <span class="version">v${gate.info.version}</span></h1>
      <dl class="server-facts">
        <dt>host</dt><dd>${location.host}</dd>
        <dt>uptime</dt><dd class="uptime">${uptime}</dd>
        <dt>token</dt><dd class="token-state">${gate.tokenRequired ? "required, entered" : "not required"}
          ${gate.tokenRequired ? html` <button type="button" class="linkish" onClick=${onForget}>forget</button>` : null}</dd>
        <dt>task feed</dt><dd>${taskFeed}</dd>
      </dl>
      <nav><a href=${`/swagger${q}`} target="_blank" rel="noopener">Swagger UI</a> · <a href=${`/openapi.json${q}`} target="_blank" rel="noopener">OpenAPI</a></nav>
    </header>
    <div class="layout">
      <${DevicesPanel} devices=${devices} error=${devicesError} refresh=${refreshDevices} onPlot=${addPlot} plotsFull=${plotsFull} />
      <div class="side">
        <${PlotsPanel} plots=${plots} deviceIds=${(devices ?? []).filter((d) => d.connected).map((d) => d.device_id)}
          full=${plotsFull} onAdd=${addPlot} onClose=${(key: number) => setPlots((p) => p.filter((x) => x.key !== key))} />
        <${TasksPanel} tasks=${taskList} types=${types} now=${now} onChanged=${refreshDevices} />
        <${RunsPanel} />
      </div>
    </div>`;
}

takeToken();
earlyDevices = api<{ devices: DeviceInfo[] }>("GET", "/devices").catch(() => null);
const firstProbe = probe();
const root = document.getElementById("app")!;
root.textContent = ""; // the static "Loading…" goes; preact would keep it beside the app
render(html`<${App} />`, root);
