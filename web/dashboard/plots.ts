// Live plots: any device's stream (?encoding=base64) in a uPlot chart with a rolling time window,
// autoscale, pause and zoom; several at once. Each plot's worker decimates (min/max per pixel column),
// and the chart is redrawn on requestAnimationFrame, at most once per frame, never per event.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api, currentToken } from "../shared/api.ts";
import { createStreamWorker, type FromWorker, type StreamStats, type ToWorker } from "./streamWorker.ts";

const WINDOWS_S = [0.1, 1, 5, 10, 30, 60];
/** A chart redraw every other animation frame at most: a live trace needs no more, and the tab's CPU thanks it. */
const MIN_FRAME_MS = 30;
const STATS_MS = 250;
/**
 * Live plots open at once. Each holds a connection to the server for its stream, the task feed holds
 * another, and a browser opens at most six to one server over HTTP/1.1: with more plots the page's own
 * requests (method forms, the device list) would wait for a free connection for good.
 */
export const MAX_PLOTS = 4;

export interface PlotSpec {
  key: number;
  deviceId: string;
}

export function PlotsPanel({
  plots,
  deviceIds,
  full,
  onAdd,
  onClose,
}: {
  plots: PlotSpec[];
  deviceIds: string[];
  /** MAX_PLOTS are open: another must wait until one is closed. */
  full: boolean;
  onAdd: (deviceId: string) => void;
  onClose: (key: number) => void;
}) {
  const [choice, setChoice] = useState("");
  const selected = deviceIds.includes(choice) ? choice : (deviceIds[0] ?? "");
  return html`<section class="panel" aria-labelledby="plots-h">
    <h2 id="plots-h">Live plots</h2>
    <form class="add-plot" onSubmit=${(e: Event) => {
      e.preventDefault();
      if (selected) onAdd(selected);
    }}>
      <label for="plot-device">device</label>
      <select id="plot-device" value=${selected} onChange=${(e: Event) => setChoice((e.target as HTMLSelectElement).value)}>
        ${deviceIds.map((id) => html`<option value=${id}>${id}</option>`)}
      </select>
      <button type="submit" disabled=${!selected || full}>Open plot</button>
    </form>
    ${full ? html`<p class="plots-full" role="status">${MAX_PLOTS} live plots are open, the most at once: each holds one of the few connections a browser opens to a server. Close one to open another.</p>` : null}
    <div class="plots">
      ${plots.map((p) => html`<${LivePlot} key=${p.key} deviceId=${p.deviceId} onClose=${() => onClose(p.key)} />`)}
    </div>
  </section>`;
}

function LivePlot({ deviceId, onClose }: { deviceId: string; onClose: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const control = useRef({ paused: false, zoomed: false, autoscale: true, worker: null as Worker | null });
  const [windowS, setWindowS] = useState(10);
  const [paused, setPaused] = useState(false);
  const [zoomed, setZoomed] = useState(false);
  const [autoscale, setAutoscale] = useState(true);
  const [stats, setStats] = useState<StreamStats | null>(null);
  const [serverDropped, setServerDropped] = useState<number | null>(null);

  useEffect(() => {
    const el = box.current!;
    const c = control.current;
    const worker = createStreamWorker();
    c.worker = worker;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 260,
        scales: { x: { time: true }, y: { auto: () => control.current.autoscale } },
        series: [{}, { label: deviceId, stroke: "#2b7de9", width: 1, points: { show: false }, spanGaps: true }],
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        hooks: {
          // A drag across the chart zooms x; the trace then stays frozen until "Reset zoom".
          setSelect: [
            (u) => {
              if (u.select.width > 0 && !c.zoomed) {
                c.zoomed = true;
                setZoomed(true);
              }
            },
          ],
        },
      },
      [[], []],
      el,
    );
    (el as HTMLDivElement & { uplot?: uPlot }).uplot = plot;

    let pending: FromWorker | null = null;
    let waiting = false;
    let lastDraw = 0;
    let lastStats = -Infinity;
    let raf = 0;
    const loop = (now: number) => {
      raf = requestAnimationFrame(loop);
      if (pending) {
        const f = pending;
        pending = null;
        if (!c.paused && !c.zoomed) {
          const x = Array.from(f.x);
          const y = Array.from(f.y, (v) => (Number.isNaN(v) ? null : v));
          plot.setData([x, y] as uPlot.AlignedData, true);
        }
        // The counters are text: four updates a second are plenty, and spare the main thread a render per frame.
        if (now - lastStats >= STATS_MS) {
          lastStats = now;
          setStats(f.stats);
        }
      }
      if (!waiting && now - lastDraw >= MIN_FRAME_MS) {
        waiting = true;
        lastDraw = now;
        worker.postMessage({
          type: "frame",
          columns: plot.bbox.width > 0 ? Math.round(plot.bbox.width / devicePixelRatio) : 600,
        } satisfies ToWorker);
      }
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      waiting = false;
      pending = e.data;
    };
    // Absolute: a blob: worker has no base URL of its own. The token goes as a header (the worker uses fetch).
    const url = `${location.origin}/stream/devices/${encodeURIComponent(deviceId)}?encoding=base64`;
    worker.postMessage({ type: "open", url, token: currentToken(), windowMs: 10_000 } satisfies ToWorker);
    raf = requestAnimationFrame(loop);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 260 }));
    ro.observe(el);
    // The server's own count of events it dropped for slow subscribers of this device.
    const poll = setInterval(() => {
      api<{ stream?: { dropped?: number } }>("GET", `/devices/${encodeURIComponent(deviceId)}`)
        .then((d) => setServerDropped(d.stream?.dropped ?? null))
        .catch(() => {});
    }, 2000);
    return () => {
      cancelAnimationFrame(raf);
      clearInterval(poll);
      ro.disconnect();
      worker.postMessage({ type: "close" } satisfies ToWorker);
      worker.terminate();
      plot.destroy();
    };
  }, [deviceId]);

  const setWindow = (s: number) => {
    setWindowS(s);
    control.current.worker?.postMessage({ type: "window", windowMs: s * 1000 } satisfies ToWorker);
  };
  const togglePause = () => {
    control.current.paused = !paused;
    setPaused(!paused);
  };
  const resetZoom = () => {
    control.current.zoomed = false;
    setZoomed(false);
  };
  const toggleAutoscale = (on: boolean) => {
    control.current.autoscale = on;
    setAutoscale(on);
  };
  const idPrefix = `plot-${deviceId}-${Math.random().toString(36).slice(2, 7)}`;

  return html`<article class="live-plot" data-plot=${deviceId} aria-label=${`live plot of ${deviceId}`}>
    <header>
      <h3>${deviceId}</h3>
      <label>window
        <select value=${String(windowS)} onChange=${(e: Event) => setWindow(Number((e.target as HTMLSelectElement).value))}>
          ${WINDOWS_S.map((s) => html`<option value=${String(s)}>${s} s</option>`)}
        </select>
      </label>
      <button type="button" class="pause" aria-pressed=${paused} onClick=${togglePause}>${paused ? "Resume" : "Pause"}</button>
      <label><input type="checkbox" id=${`${idPrefix}-auto`} checked=${autoscale}
        onChange=${(e: Event) => toggleAutoscale((e.target as HTMLInputElement).checked)} /> autoscale</label>
      <button type="button" class="reset-zoom" disabled=${!zoomed} onClick=${resetZoom} title="Drag across the chart to zoom; this goes back to the live window">Reset zoom</button>
      <button type="button" class="close" onClick=${onClose} aria-label=${`close plot of ${deviceId}`}>×</button>
    </header>
    <div class="chart" ref=${box}></div>
    <${StatsLine} stats=${stats} serverDropped=${serverDropped} />
  </article>`;
}

function StatsLine({ stats: s, serverDropped }: { stats: StreamStats | null; serverDropped: number | null }) {
  if (!s) return html`<div class="stream-stats">connecting…</div>`;
  const rate =
    s.rate >= 1e6
      ? `${(s.rate / 1e6).toFixed(2)} MS/s`
      : s.rate >= 1e3
        ? `${(s.rate / 1e3).toFixed(1)} kS/s`
        : `${s.rate.toFixed(1)} S/s`;
  return html`<div class="stream-stats" aria-live="off" data-events=${s.events}>
    <span class="state">${s.state}</span>
    <span>${rate}</span>
    <span>${s.events} events</span>
    <span>${s.dtype || "—"}</span>
    <span class="gaps" title="sequence jumps seen by this page (events it never got)">gaps ${s.gaps} (${s.missed} events)</span>
    <span class="dropped" title="events the server dropped for slow subscribers of this device (all clients)">server dropped ${serverDropped ?? "—"}</span>
    ${s.unplottable ? html`<span>${s.unplottable} unplottable</span>` : null}
    ${s.lastError ? html`<span class="stream-error" role="alert">${s.lastError}</span>` : null}
  </div>`;
}
