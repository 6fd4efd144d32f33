// The launcher page: the lab's profiles with a status light each, start/stop, servers left by an earlier
// launcher, live logs and the configuration editor. It speaks only the launcher's JSON API.
import { html, render } from "htm/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, setToken, takeToken } from "../shared/api.ts";
import type { ConfigEditor } from "./editor.ts";
import { LogPanel } from "./logs.ts";
import type { ConfigInfo, ConfigProblem, Orphan, Profile } from "./types.ts";

const POLL_MS = 1000;

function describe(e: unknown): string {
  return e instanceof ApiError
    ? `${e.status} ${e.type}: ${e.envelope.error.message}`
    : String((e as Error)?.message ?? e);
}

function uptime(s: number | null): string {
  if (s === null) return "—";
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = s % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${sec} s` : `${sec} s`;
}

const WORD: Record<Profile["state"], string> = {
  starting: "starting",
  healthy: "healthy",
  unhealthy: "unhealthy",
  stopping: "stopping",
  stopped: "stopped",
  crashed: "crashed",
};

function ProfileRow({
  p,
  onAction,
  busy,
}: {
  p: Profile;
  onAction: (name: string, action: "start" | "stop", keep?: boolean) => void;
  busy: boolean;
}) {
  const [keep, setKeep] = useState(false);
  const running = p.state === "starting" || p.state === "healthy" || p.state === "unhealthy" || p.state === "stopping";
  const origin = `http://${p.host === "0.0.0.0" ? "127.0.0.1" : p.host}:${p.port}`;
  return html`
    <tr data-profile=${p.name} data-state=${p.state}>
      <td><span class=${`light ${p.state}`} aria-hidden="true"></span> <span class="state-word" data-testid="state">${WORD[p.state]}${p.state === "crashed" && p.exit_code !== null ? ` (exit ${p.exit_code})` : ""}</span></td>
      <td><strong>${p.name}</strong>${p.needs_restart ? html` <span class="badge" title="its section of the configuration changed since it started">restart needed</span>` : ""}
        ${p.adopted ? html` <span class="badge quiet">adopted</span>` : ""}${p.keep_running && running ? html` <span class="badge quiet">keep running</span>` : ""}
        <div class="muted">${p.description}</div></td>
      <td>${p.port === 0 ? "any" : p.port}</td>
      <td class="devices">${p.devices.join(", ") || "—"}</td>
      <td>${p.pid ?? "—"}</td>
      <td>${uptime(p.uptime_s)}</td>
      <td>${running && p.port ? html`<a href=${`${origin}/swagger`} target="_blank" rel="noreferrer">Swagger UI</a> · <a href=${`${origin}/`} target="_blank" rel="noreferrer">Dashboard</a>` : "—"}</td>
      <td class="actions">
        ${
          running
            ? html`<button type="button" onClick=${() => onAction(p.name, "stop")} disabled=${busy || p.state === "stopping"} aria-label=${`Stop ${p.name}`}>Stop</button>`
            : html`<button type="button" class="primary" onClick=${() => onAction(p.name, "start", keep)} disabled=${busy || p.removed} aria-label=${`Start ${p.name}`}>Start</button>
              <label class="keep"><input type="checkbox" checked=${keep} onChange=${(e: Event) => setKeep((e.target as HTMLInputElement).checked)} aria-label=${`keep running: ${p.name}`} /> keep running</label>`
        }
      </td>
    </tr>
    ${
      p.state === "crashed" && p.last_lines
        ? html`
      <tr class="crash"><td colspan="8"><details open><summary>Last lines before it exited (status ${p.exit_code ?? "unknown"})</summary><pre>${p.last_lines.join("\n")}</pre></details></td></tr>`
        : ""
    }`;
}

function Orphans({ orphans, act }: { orphans: Orphan[]; act: (o: Orphan, what: "adopt" | "stop" | "forget") => void }) {
  if (orphans.length === 0) return null;
  return html`
    <section class="panel warn-panel" aria-labelledby="orphans-title">
      <h2 id="orphans-title">Servers left by an earlier launcher</h2>
      <p class="muted">A launcher that ended without stopping its servers left these records. A server is only ever signalled when it is provably the process recorded (same PID and start time, launched by labdaemon).</p>
      <table>
        <thead><tr><th>Profile</th><th>PID</th><th>Port</th><th>Started</th><th>Status</th><th>Actions</th></tr></thead>
        <tbody>${orphans.map((o) => {
          // Every row has the same buttons: a screen reader must hear whose they are (the visible words first).
          const whose = `${o.profile} (PID ${o.pid})`;
          return html`
          <tr data-orphan=${o.id}>
            <td>${o.profile}</td><td>${o.pid}</td><td>${o.port ?? "—"}</td><td>${new Date(o.started_at).toLocaleString()}</td>
            <td>${o.status === "running" ? "running" : html`stale <span class="muted">(${o.reason})</span>`}</td>
            <td class="actions">${
              o.status === "running"
                ? html`<button type="button" onClick=${() => act(o, "adopt")} disabled=${!o.adoptable} title=${o.adoptable ? "" : "its profile is not in this launcher's configuration"} aria-label=${`Adopt ${whose}`}>Adopt</button>
                     <button type="button" onClick=${() => act(o, "stop")} aria-label=${`Stop ${whose}`}>Stop</button>`
                : html`<button type="button" onClick=${() => act(o, "forget")} aria-label=${`Clean up record of ${whose}`}>Clean up record</button>`
            }</td>
          </tr>`;
        })}</tbody>
      </table>
    </section>`;
}

function NoConfig({ info, onCreated }: { info: ConfigInfo; onCreated: () => void }) {
  const [path, setPath] = useState(info.suggested ?? "lab_servers.yaml");
  const [error, setError] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await api("POST", "/api/config", { path });
      setError(null);
      onCreated();
    } catch (err) {
      setError(describe(err));
    }
  };
  return html`
    <section class="panel" aria-labelledby="noconfig-title">
      <h2 id="noconfig-title">No lab configuration found</h2>
      <p>The launcher looked, in this order, in:</p>
      <ul class="paths">${(info.searched ?? []).map((s) => html`<li><code>${s}</code></li>`)}</ul>
      <form onSubmit=${create}>
        <label>Create one from the template at
          <input type="text" size="60" value=${path} onInput=${(e: Event) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary">Create</button>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
    </section>`;
}

function Editor({ info, onSaved }: { info: ConfigInfo; onSaved: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<ConfigEditor | null>(null);
  const [message, setMessage] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  const [dirty, setDirty] = useState(false);

  useEffect(() => {
    // Loaded on demand: CodeMirror's set-up (its grammars among it) then runs after the page has loaded.
    void import("./editor.ts").then(({ createEditor }) => {
      if (!host.current || editor.current) return;
      editor.current = createEditor(host.current, `Configuration file ${info.file}`);
      editor.current.setText(info.text ?? "", info.format ?? "yaml");
      editor.current.onChange(() => setDirty(true));
      setDirty(false);
      if (info.error) showProblem(info.error.line, info.error.column, info.error.problem ?? "does not load");
    });
  }, []);

  const showProblem = (line: number | undefined, column: number | undefined, text: string) => {
    editor.current?.showError({ line, column, message: text });
  };

  const save = async () => {
    if (!editor.current) return;
    try {
      await api("PUT", "/api/config", editor.current.text(), {
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
      editor.current.showError(null);
      setDirty(false);
      setMessage({ kind: "ok", text: `Saved ${info.file} (previous version kept as ${info.file}.bak)` });
      onSaved();
    } catch (e) {
      if (e instanceof ApiError && e.type === "ConfigError") {
        const c = e.envelope.error.context as ConfigProblem;
        showProblem(c.line, c.column, c.problem ?? e.envelope.error.message);
      }
      setMessage({ kind: "error", text: `Not saved: ${describe(e)}` });
    }
  };

  const reload = async () => {
    const fresh = await api<ConfigInfo>("GET", "/api/config");
    editor.current?.setText(fresh.text ?? "", fresh.format ?? "yaml");
    editor.current?.showError(null);
    setDirty(false);
    setMessage(null);
  };

  return html`
    <section class="panel editor" aria-labelledby="editor-title">
      <div class="panel-head">
        <h2 id="editor-title">Configuration</h2>
        <code class="muted">${info.file}</code>
        <button type="button" class="primary" onClick=${save} data-testid="save-config">Save${dirty ? " *" : ""}</button>
        <button type="button" onClick=${() => void reload()}>Reload from disk</button>
      </div>
      ${message ? html`<p class=${message.kind === "error" ? "error" : "ok"} role=${message.kind === "error" ? "alert" : "status"} data-testid="config-message">${message.text}</p>` : ""}
      <div ref=${host} class="cm-host"></div>
    </section>`;
}

function TokenForm({ refused }: { refused: boolean }) {
  const [value, setValue] = useState("");
  return html`
    <section class="panel" aria-labelledby="token-title">
      <h2 id="token-title">This launcher needs its secret</h2>
      ${refused ? html`<p class="error" role="alert" data-testid="token-refused"><strong>The launcher refused the token this tab had</strong> (401 Unauthorized): it was restarted, which gives it a new secret, or the token was mistyped.</p>` : ""}
      <p>Open the address <code>labdaemon launcher</code> printed (it carries <code>?token=…</code>), or paste the token here.</p>
      <form onSubmit=${(e: Event) => {
        e.preventDefault();
        setToken(value.trim());
        location.reload();
      }}>
        <label>Token <input type="password" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" class="primary">Use it</button>
      </form>
    </section>`;
}

function App({ hasToken }: { hasToken: boolean }) {
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [orphans, setOrphans] = useState<Orphan[]>([]);
  const [config, setConfig] = useState<ConfigInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [quit, setQuit] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [configLoad, setConfigLoad] = useState<string | null>(null);
  const [refused, setRefused] = useState(false);

  /** A 401 will not pass by itself (a new secret, a mistyped token): forget the token and ask for it. */
  const fail = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.status === 401) {
      setToken(null);
      setRefused(true);
    } else setError(describe(e));
  }, []);

  const refresh = useCallback(async () => {
    try {
      const [p, o] = await Promise.all([
        api<{ profiles: Profile[]; config: { file: string | null; error: ConfigProblem | null } }>(
          "GET",
          "/api/profiles",
        ),
        api<{ orphans: Orphan[] }>("GET", "/api/orphans"),
      ]);
      setProfiles(p.profiles);
      // For bench/launcher.ts: when the servers were first known (the table renders in the same frame).
      if (performance.getEntriesByName("launcher:listed").length === 0) performance.mark("launcher:listed");
      setOrphans(o.orphans);
      setConfigLoad(
        p.config.error
          ? `${p.config.error.file}${p.config.error.line ? `:${p.config.error.line}:${p.config.error.column}` : ""}: ${p.config.error.problem}`
          : null,
      );
      setSelected((s) => s ?? p.profiles[0]?.name ?? null);
    } catch (e) {
      fail(e);
    }
  }, []);

  const loadConfig = useCallback(async () => {
    try {
      setConfig(await api<ConfigInfo>("GET", "/api/config"));
    } catch (e) {
      fail(e);
    }
  }, []);

  useEffect(() => {
    if (!hasToken || quit || refused) return;
    void refresh();
    void loadConfig();
    const t = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(t);
  }, [hasToken, quit, refused]);

  const run = async (what: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await what();
      setError(null);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
      await refresh();
    }
  };

  const onAction = (name: string, action: "start" | "stop", keep?: boolean) => {
    if (action === "start") setSelected(name);
    void run(() =>
      api(
        "POST",
        `/api/profiles/${encodeURIComponent(name)}/${action}`,
        action === "start" ? { keep_running: keep === true } : undefined,
      ),
    );
  };

  const actOrphan = (o: Orphan, what: "adopt" | "stop" | "forget") =>
    void run(() =>
      what === "forget"
        ? api("DELETE", `/api/orphans/${encodeURIComponent(o.id)}`)
        : api("POST", `/api/orphans/${encodeURIComponent(o.id)}/${what}`),
    );

  const doQuit = () =>
    void run(async () => {
      await api("POST", "/api/quit");
      setQuit(true);
    });

  if (!hasToken || refused) return html`<${Header} /><${TokenForm} refused=${refused} />`;
  if (quit)
    return html`<${Header} /><section class="panel"><h2>The launcher has quit</h2><p>The servers it started were stopped, except those marked "keep running". You can close this tab.</p></section>`;
  return html`
    <${Header} file=${config?.file ?? null} onQuit=${doQuit} busy=${busy} />
    ${error ? html`<p class="error banner" role="alert" data-testid="error">${error} <button type="button" onClick=${() => setError(null)} aria-label="Dismiss">×</button></p>` : ""}
    ${configLoad ? html`<p class="error banner" role="alert">The configuration does not load: ${configLoad}</p>` : ""}
    <${Orphans} orphans=${orphans} act=${actOrphan} />
    ${
      config && config.file === null
        ? html`<${NoConfig} info=${config} onCreated=${() => {
            void loadConfig();
            void refresh();
          }} />`
        : ""
    }
    ${
      profiles.length > 0
        ? html`
      <section class="panel" aria-labelledby="profiles-title">
        <h2 id="profiles-title">Servers</h2>
        <table class="profiles">
          <thead><tr><th>Status</th><th>Profile</th><th>Port</th><th>Devices</th><th>PID</th><th>Uptime</th><th>Open</th><th>Actions</th></tr></thead>
          <tbody>${profiles.map((p) => html`<${ProfileRow} key=${p.name} p=${p} onAction=${onAction} busy=${busy} />`)}</tbody>
        </table>
      </section>
      <${LogPanel} profiles=${profiles} selected=${selected} onSelect=${setSelected} />`
        : ""
    }
    ${config?.file ? html`<${Editor} key=${config.file} info=${config} onSaved=${() => void refresh()} />` : ""}`;
}

function Header({ file, onQuit, busy }: { file?: string | null; onQuit?: () => void; busy?: boolean }) {
  return html`
    <header>
      <h1>labdaemon launcher</h1>
      ${file ? html`<span class="muted">${file}</span>` : ""}
      ${onQuit ? html`<button type="button" class="danger" onClick=${onQuit} disabled=${busy} title="stop the servers started here (except those kept running) and end the launcher">Quit</button>` : ""}
    </header>`;
}

const token = takeToken();
render(html`<${App} hasToken=${token !== null} />`, document.getElementById("app")!);
