// The devices panel: one card per device (state, owner, last error), connect/disconnect, and a form per
// remote method generated from GET /devices/{id}/methods, each showing its result or error envelope.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../shared/api.ts";
import { collectValues, SchemaFields, type FieldSpec, type JsonSchema } from "./schemaForm.ts";
import { ErrorView, Light, OutcomeView, outcomeOf, type Outcome } from "./views.ts";

export interface StoredError {
  error: { type: string; message: string; origin?: string; timestamp?: string; traceback?: string; context?: unknown };
}

export interface DeviceInfo {
  device_id: string;
  device_type: string;
  connected: boolean;
  streaming: boolean;
  owned_by: string | null;
  last_error: StoredError | null;
  busy?: boolean;
  pending?: number;
}

interface MethodInfo {
  name: string;
  parameters: { name: string; type: string; required: boolean; default?: unknown; schema?: unknown }[];
  doc?: string;
}

/** Lifecycle methods have their own routes (the buttons on the card), not /call. */
const LIFECYCLE = new Set(["connect", "disconnect", "isConnected", "startStreaming", "stopStreaming", "isStreaming"]);

export function DevicesPanel({
  devices,
  error,
  refresh,
  onPlot,
  plotsFull,
}: {
  devices: DeviceInfo[] | null;
  error: Outcome;
  refresh: () => void;
  onPlot: (deviceId: string) => void;
  /** As many live plots are open as the page allows. */
  plotsFull: boolean;
}) {
  return html`<section class="panel" aria-labelledby="devices-h">
    <h2 id="devices-h">Devices</h2>
    ${error && !error.ok ? html`<${ErrorView} status=${error.status} envelope=${error.envelope} />` : null}
    ${devices === null ? html`<p>Loading…</p>` : devices.length === 0 ? html`<p>No devices on this server.</p>` : null}
    <div class="cards">
      ${(devices ?? []).map((d) => html`<${DeviceCard} key=${d.device_id} device=${d} refresh=${refresh} onPlot=${onPlot} plotsFull=${plotsFull} />`)}
    </div>
  </section>`;
}

function stateLight(d: DeviceInfo) {
  if (d.last_error) return html`<${Light} color="bad" word="error" />`;
  if (!d.connected) return html`<${Light} color="off" word="disconnected" />`;
  if (d.owned_by) return html`<${Light} color="busy" word="owned" />`;
  return html`<${Light} color="ok" word="connected" />`;
}

function DeviceCard({
  device: d,
  refresh,
  onPlot,
  plotsFull,
}: {
  device: DeviceInfo;
  refresh: () => void;
  onPlot: (id: string) => void;
  plotsFull: boolean;
}) {
  const [methods, setMethods] = useState<MethodInfo[] | null>(null);
  const [methodsError, setMethodsError] = useState<Outcome>(null);
  const [action, setAction] = useState<Outcome>(null);
  const [forced, setForced] = useState(false);
  const path = `/devices/${encodeURIComponent(d.device_id)}`;

  useEffect(() => {
    api<{ methods: MethodInfo[] }>("GET", `${path}/methods`)
      .then((r) => setMethods(r.methods.filter((m) => !LIFECYCLE.has(m.name))))
      .catch((e) => setMethodsError(outcomeOf(e)));
  }, [path]);
  // The lock is for this task only: a new owner locks the forms again.
  useEffect(() => setForced(false), [d.owned_by]);

  const lifecycle = async (what: "connect" | "disconnect") => {
    setAction(null);
    try {
      await api("POST", `${path}/${what}`);
    } catch (e) {
      setAction(outcomeOf(e));
    }
    refresh();
  };
  const locked = d.owned_by !== null && !forced;

  return html`<article class="card" data-device=${d.device_id} aria-label=${`device ${d.device_id}`}>
    <header>
      <h3>${d.device_id}</h3>
      ${stateLight(d)}
    </header>
    <dl class="facts">
      <dt>type</dt><dd class="device-type">${d.device_type}</dd>
      <dt>connected</dt><dd class="connected">${d.connected ? "yes" : "no"}</dd>
      <dt>streaming</dt><dd class="streaming">${d.streaming ? "yes" : "no"}</dd>
      <dt>owner</dt><dd class="owner">${d.owned_by ? `task ${d.owned_by}` : "—"}</dd>
      <dt>busy</dt><dd class="busy">${d.busy ? "yes" : "no"}${d.pending ? `, ${d.pending} pending` : ""}</dd>
    </dl>
    <div class="buttons">
      <button type="button" class="connect" disabled=${d.connected || locked} onClick=${() => lifecycle("connect")}>Connect</button>
      <button type="button" class="disconnect" disabled=${!d.connected || locked} onClick=${() => lifecycle("disconnect")}>Disconnect</button>
      <button type="button" class="plot" disabled=${!d.connected || plotsFull} onClick=${() => onPlot(d.device_id)}
        title=${plotsFull ? "As many live plots are open as the page allows: close one first" : "Open this device's stream in a live plot (subscribing starts the stream)"}>Plot</button>
    </div>
    <${OutcomeView} outcome=${action} />
    ${d.last_error ? html`<${LastError} path=${path} stored=${d.last_error} refresh=${refresh} />` : null}
    ${
      d.owned_by
        ? html`<p class="owned-note">
      Owned by task <strong>${d.owned_by}</strong>: its forms are disabled while the task runs.
      <label><input type="checkbox" class="force" checked=${forced} onChange=${(e: Event) => setForced((e.target as HTMLInputElement).checked)} />
        send anyway (the server answers 409)</label>
    </p>`
        : null
    }
    <details class="methods" open>
      <summary>Methods${methods ? ` (${methods.length})` : ""}</summary>
      ${methodsError && !methodsError.ok ? html`<${ErrorView} status=${methodsError.status} envelope=${methodsError.envelope} />` : null}
      <fieldset disabled=${locked}>
        <legend class="visually-hidden">Methods of ${d.device_id}</legend>
        ${(methods ?? []).map((m) => html`<${MethodForm} key=${m.name} path=${path} method=${m} deviceId=${d.device_id} refresh=${refresh} />`)}
      </fieldset>
    </details>
  </article>`;
}

function LastError({ path, stored, refresh }: { path: string; stored: StoredError; refresh: () => void }) {
  const [trace, setTrace] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const e = stored.error;
  const showTrace = async () => {
    try {
      const full = await api<StoredError>("GET", `${path}/error`);
      setTrace(full.error.traceback ?? "(no traceback recorded)");
    } catch (err) {
      setOutcome(outcomeOf(err));
    }
  };
  const clear = async () => {
    try {
      await api("DELETE", `${path}/error`);
      setOutcome(null);
    } catch (err) {
      setOutcome(outcomeOf(err));
    }
    refresh();
  };
  return html`<div class="last-error" role="status">
    <strong>last error</strong> <code>${e.type}</code>: ${e.message}
    ${e.timestamp ? html` <small>(${new Date(e.timestamp).toLocaleTimeString()}, ${e.origin})</small>` : null}
    <div class="buttons">
      <button type="button" onClick=${() => (trace === null ? showTrace() : setTrace(null))}>${trace === null ? "Traceback" : "Hide traceback"}</button>
      <button type="button" class="clear-error" onClick=${clear}>Clear</button>
    </div>
    ${trace !== null ? html`<pre class="traceback">${trace}</pre>` : null}
    <${OutcomeView} outcome=${outcome} />
  </div>`;
}

function MethodForm({
  path,
  method,
  deviceId,
  refresh,
}: {
  path: string;
  method: MethodInfo;
  deviceId: string;
  refresh: () => void;
}) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [running, setRunning] = useState(false);
  const specs: FieldSpec[] = method.parameters.map((p) => ({
    name: p.name,
    required: p.required,
    default: p.default,
    type: p.type,
    schema: (p.schema as JsonSchema | undefined) ?? null,
  }));
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const kwargs = collectValues(ev.currentTarget as HTMLFormElement, specs);
    setRunning(true);
    try {
      const r = await api<{ result: unknown }>("POST", `${path}/call`, { method: method.name, kwargs });
      setOutcome({ ok: true, value: r.result });
    } catch (e) {
      setOutcome(outcomeOf(e));
    } finally {
      setRunning(false);
      refresh();
    }
  };
  return html`<form class="method" data-method=${method.name} onSubmit=${submit} noValidate>
    <div class="method-head">
      <button type="submit" disabled=${running}>${method.name}</button>
      ${method.doc ? html`<small class="doc">${method.doc}</small>` : null}
    </div>
    ${specs.length > 0 ? html`<div class="fields"><${SchemaFields} specs=${specs} prefix=${`m-${deviceId}-${method.name}`} /></div>` : null}
    <${OutcomeView} outcome=${outcome} />
  </form>`;
}
