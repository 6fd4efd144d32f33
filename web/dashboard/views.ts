// Small views shared by the panels: the server's error envelope as it came, a collapsible JSON tree,
// a static uPlot chart of numeric series, and a status light with its word.
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { ApiError } from "../shared/api.ts";

/** What an action ended with: a result, or the error the server (or the network) gave. */
export type Outcome = { ok: true; value: unknown } | { ok: false; status: number; envelope: unknown } | null;

export function outcomeOf(e: unknown): Outcome {
  if (e instanceof ApiError) return { ok: false, status: e.status, envelope: e.envelope };
  return {
    ok: false,
    status: 0,
    envelope: { error: { type: "NetworkError", message: e instanceof Error ? e.message : String(e) } },
  };
}

/** The status and envelope exactly as the server sent them, with the type up front. */
export function ErrorView({ status, envelope }: { status: number; envelope: unknown }) {
  const err = (envelope as { error?: { type?: string; message?: string; traceback?: string } }).error ?? {};
  return html`<div class="error" role="alert">
    <strong>${status ? `${status} ` : ""}${err.type ?? "Error"}</strong>: ${err.message ?? ""}
    <details><summary>envelope</summary><pre>${JSON.stringify(envelope, null, 2)}</pre></details>
  </div>`;
}

export function OutcomeView({ outcome }: { outcome: Outcome }) {
  if (!outcome) return null;
  if (!outcome.ok) return html`<${ErrorView} status=${outcome.status} envelope=${outcome.envelope} />`;
  return html`<div class="result"><span class="label">result</span> <${JsonTree} value=${outcome.value} open=${true} /></div>`;
}

const MAX_CHILDREN = 200;

/** Objects and arrays fold; the first MAX_CHILDREN entries of a big one are shown. */
export function JsonTree({ value, open = false, name }: { value: unknown; open?: boolean; name?: string }) {
  const key = name !== undefined ? html`<span class="key">${name}: </span>` : null;
  if (value === null || typeof value !== "object") {
    return html`<div class="leaf">${key}<code class=${`json-${value === null ? "null" : typeof value}`}>${JSON.stringify(value) ?? String(value)}</code></div>`;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const label = Array.isArray(value) ? `Array(${value.length})` : `{${entries.length}}`;
  return html`<details class="tree" open=${open}>
    <summary>${key}${label}</summary>
    ${entries.slice(0, MAX_CHILDREN).map(([k, v]) => html`<${JsonTree} name=${k} value=${v} />`)}
    ${entries.length > MAX_CHILDREN ? html`<div class="leaf">… ${entries.length - MAX_CHILDREN} more</div>` : null}
  </details>`;
}

export interface Series {
  x: number[];
  xLabel: string;
  ys: { label: string; values: number[] }[];
}

const isNumArray = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === "number" || n === null);

/**
 * What in a result can be plotted: a numeric array (against its index), `{x, y}`, or an object with
 * several numeric arrays of one length (the first is x: a sweep's wavelengths, then its powers).
 */
export function seriesOf(result: unknown): Series | null {
  if (isNumArray(result))
    return { x: result.map((_, i) => i), xLabel: "index", ys: [{ label: "value", values: result }] };
  if (result === null || typeof result !== "object") return null;
  const obj = result as Record<string, unknown>;
  if (isNumArray(obj.x) && isNumArray(obj.y) && obj.x.length === obj.y.length) {
    return { x: obj.x, xLabel: "x", ys: [{ label: "y", values: obj.y }] };
  }
  const arrays = Object.entries(obj).filter((e): e is [string, number[]] => isNumArray(e[1]));
  if (arrays.length === 1)
    return {
      x: arrays[0]![1].map((_, i) => i),
      xLabel: "index",
      ys: [{ label: arrays[0]![0], values: arrays[0]![1] }],
    };
  const n = arrays[0]?.[1].length;
  const same = arrays.filter(([, a]) => a.length === n);
  if (same.length < 2) return null;
  return { x: same[0]![1], xLabel: same[0]![0], ys: same.slice(1).map(([label, values]) => ({ label, values })) };
}

const COLORS = ["#2b7de9", "#e9672b", "#2bb673", "#b62ba8"];

/** A finished result's series, drawn once (resized with its box). */
export function SeriesPlot({ series }: { series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: series.xLabel }, {}],
        series: [
          { label: series.xLabel },
          ...series.ys.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            points: { show: series.x.length < 200 },
          })),
        ],
      },
      [series.x, ...series.ys.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [series]);
  return html`<div class="series-plot" ref=${box}></div>`;
}

export type LightColor = "ok" | "warn" | "bad" | "off" | "busy";

export function Light({ color, word }: { color: LightColor; word: string }) {
  return html`<span class=${`light light-${color}`}><span class="dot" aria-hidden="true"></span>${word}</span>`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}
