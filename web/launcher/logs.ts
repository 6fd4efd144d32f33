// The log panel: one profile's output followed live (SSE over fetch), the last 5,000 lines kept, shown
// through a minimum level and a text search.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { followEvents } from "../shared/sseFetch.ts";
import type { LogLine, Profile } from "./types.ts";

const MAX_LINES = 5000;
const RANK = { info: 0, warn: 1, error: 2 } as const;

export function LogPanel({
  profiles,
  selected,
  onSelect,
}: {
  profiles: Profile[];
  selected: string | null;
  onSelect: (name: string) => void;
}) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [level, setLevel] = useState<keyof typeof RANK>("info");
  const [search, setSearch] = useState("");
  const [connected, setConnected] = useState<boolean | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  useEffect(() => {
    setLines([]);
    if (!selected) return;
    const abort = new AbortController();
    let pending: LogLine[] = [];
    let frame = 0;
    // Lines arrive in bursts: one render per animation frame, never one per line.
    const flush = () => {
      frame = 0;
      const add = pending;
      pending = [];
      setLines((old) => {
        const next = old.concat(add);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    void followEvents(
      `/api/profiles/${encodeURIComponent(selected)}/logs`,
      (e) => {
        if (e.event !== "log") return;
        pending.push(JSON.parse(e.data) as LogLine);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      abort.signal,
      (ok) => setConnected(ok),
    );
    return () => {
      abort.abort();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [selected]);

  useEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines, level, search]);

  const needle = search.trim().toLowerCase();
  const shown = lines.filter(
    (l) => RANK[l.level] >= RANK[level] && (needle === "" || l.text.toLowerCase().includes(needle)),
  );

  return html`
    <section class="panel logs" aria-labelledby="logs-title">
      <div class="panel-head">
        <h2 id="logs-title">Logs</h2>
        <label>Server
          <select value=${selected ?? ""} onChange=${(e: Event) => onSelect((e.target as HTMLSelectElement).value)}>
            ${profiles.map((p) => html`<option value=${p.name}>${p.name}</option>`)}
          </select>
        </label>
        <label>Level
          <select value=${level} onChange=${(e: Event) => setLevel((e.target as HTMLSelectElement).value as keyof typeof RANK)} data-testid="log-level">
            <option value="info">all</option>
            <option value="warn">warnings and errors</option>
            <option value="error">errors</option>
          </select>
        </label>
        <label>Search
          <input type="search" value=${search} placeholder="text in the line" onInput=${(e: Event) => setSearch((e.target as HTMLInputElement).value)} data-testid="log-search" />
        </label>
        <span class="muted">${shown.length} of ${lines.length} lines${connected === false ? " · reconnecting…" : ""}</span>
      </div>
      <div class="log-lines" ref=${box} role="log" aria-live="polite" data-testid="log-lines"
        onScroll=${(e: Event) => {
          const el = e.target as HTMLDivElement;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
        }}>
        ${shown.map((l) => html`<div key=${l.seq} class=${`log-line lv-${l.level}`}><time>${new Date(l.time).toLocaleTimeString()}</time> ${l.text}</div>`)}
      </div>
    </section>`;
}
