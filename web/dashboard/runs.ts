// The server's recordings (GET /runs, servers with a data directory): what was recorded, its state, and
// a download of its HDF5 file (fetched with the token as a header, then handed to the browser as a file).
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, currentToken } from "../shared/api.ts";
import { OutcomeView, outcomeOf, type Outcome } from "./views.ts";

interface RunSummary {
  run_id: string;
  kind: "stream" | "task";
  name: string;
  status: string;
  task_id: string | null;
  device_id: string | null;
  started_at: string;
  bytes: number;
  earlier_run: boolean;
}

const RUNS_POLL_MS = 5000;
const SHOWN = 50;

function size(bytes: number): string {
  return bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(1)} MB`
    : bytes >= 1e3
      ? `${(bytes / 1e3).toFixed(1)} kB`
      : `${bytes} B`;
}

async function download(run: RunSummary, setOutcome: (o: Outcome) => void): Promise<void> {
  const token = currentToken();
  const res = await fetch(`/runs/${encodeURIComponent(run.run_id)}/file`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) {
    setOutcome(
      outcomeOf(
        new ApiError(
          res.status,
          await res.json().catch(() => ({ error: { type: `HTTP${res.status}`, message: res.statusText } })),
        ),
      ),
    );
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `${run.run_id}.h5`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Nothing at all on a server without a data directory (its /runs is a 404). */
export function RunsPanel() {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [absent, setAbsent] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  /** Why the list could not be read; it goes with the next read that works (the server back, say). */
  const [listError, setListError] = useState<Outcome>(null);
  useEffect(() => {
    const load = () =>
      api<{ runs: RunSummary[] }>("GET", `/runs?limit=${SHOWN}`)
        .then((r) => {
          setRuns(r.runs);
          setListError(null);
        })
        .catch((e) => (e instanceof ApiError && e.status === 404 ? setAbsent(true) : setListError(outcomeOf(e))));
    load();
    const poll = setInterval(() => {
      if (!document.hidden) load();
    }, RUNS_POLL_MS);
    return () => clearInterval(poll);
  }, []);
  if (absent) return null;
  return html`<section class="panel runs" aria-label="Recordings">
    <h2>Recordings</h2>
    ${listError ? html`<${OutcomeView} outcome=${listError} />` : null}
    ${outcome ? html`<${OutcomeView} outcome=${outcome} />` : null}
    ${
      runs === null
        ? html`<p>Loading…</p>`
        : runs.length === 0
          ? html`<p class="empty">No recordings yet (a task's <code>ctx.record</code>, or <code>POST /devices/{id}/record</code>).</p>`
          : html`<table class="runs-table"><thead><tr><th>run</th><th>of</th><th>status</th><th>started</th><th>size</th><th></th></tr></thead><tbody>
        ${runs.map(
          (r) => html`<tr key=${r.run_id} data-run=${r.run_id}>
          <td><code>${r.run_id}</code>${r.earlier_run ? html` <small>(earlier run)</small>` : null}</td>
          <td>${r.kind === "task" ? `task ${r.task_id}` : `device ${r.device_id}`}</td>
          <td>${r.status}</td>
          <td>${new Date(r.started_at).toLocaleString()}</td>
          <td>${size(r.bytes)}</td>
          <td><button type="button" onClick=${() => void download(r, setOutcome)}>Download .h5</button></td>
        </tr>`,
        )}
      </tbody></table>`
    }
  </section>`;
}
