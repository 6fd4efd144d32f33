// A device stream read off the main thread: a Worker (from a blob: URL: the page is one file) holds the
// EventSource, decodes base64 payloads, folds samples into min/max time bins and answers each frame
// request with one min/max pair per pixel column. The main thread only draws what it gets.

/** Main thread → worker. */
export type ToWorker =
  | { type: "open"; url: string; windowMs: number }
  | { type: "window"; windowMs: number }
  | { type: "frame"; columns: number }
  | { type: "close" };

export interface StreamStats {
  state: "connecting" | "open" | "reconnecting" | "closed";
  events: number;
  samples: number;
  /** Samples per second, measured on the server's timestamps. */
  rate: number;
  /** Sequence jumps seen (each is events this client never got) and how many events they skipped. */
  gaps: number;
  missed: number;
  lastSequence: number;
  dtype: string;
  /** Payloads that held no number to plot. */
  unplottable: number;
  lastError: string | null;
}

/** Worker → main thread: `x` (seconds) and `y` interleaved as min, max per column; NaN where empty. */
export type FromWorker = { type: "frame"; x: Float64Array; y: Float64Array; stats: StreamStats };

/**
 * The worker's whole program. It runs from its source text in a blob: worker, so it must reference
 * nothing outside itself.
 */
function streamWorkerMain(): void {
  const scope = self as unknown as {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    onmessage: ((e: MessageEvent) => void) | null;
  };
  /** Bins across the window: more than any plot is wide in pixels. */
  const BINS = 4096;
  const CAP = BINS + 64;
  let windowMs = 10_000;
  let binMs = windowMs / BINS;
  const binNo = new Float64Array(CAP).fill(-1);
  const binMin = new Float64Array(CAP);
  const binMax = new Float64Array(CAP);
  let es: EventSource | null = null;
  /** Server time (ms) of the newest sample placed. */
  let cursor = -1;
  let lastEventTs = -1;
  const rateMarks: { ts: number; total: number }[] = [];
  const stats = {
    state: "connecting", events: 0, samples: 0, rate: 0, gaps: 0, missed: 0, lastSequence: -1,
    dtype: "", unplottable: 0, lastError: null as string | null,
  };

  const resetBins = () => {
    binMs = windowMs / BINS;
    binNo.fill(-1);
  };

  const decode = (dtype: string, data: string): ArrayLike<number> => {
    const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
    let bytes: Uint8Array;
    if (fromBase64) bytes = fromBase64(data);
    else {
      const bin = atob(data);
      bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    }
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    stats.dtype = dtype;
    switch (dtype) {
      case "float64": return new Float64Array(buf, 0, buf.byteLength >> 3);
      case "float32": return new Float32Array(buf, 0, buf.byteLength >> 2);
      case "int32": return new Int32Array(buf, 0, buf.byteLength >> 2);
      case "uint32": return new Uint32Array(buf, 0, buf.byteLength >> 2);
      case "int16": return new Int16Array(buf, 0, buf.byteLength >> 1);
      case "uint16": return new Uint16Array(buf, 0, buf.byteLength >> 1);
      case "int8": return new Int8Array(buf);
      case "int64": return Array.from(new BigInt64Array(buf, 0, buf.byteLength >> 3), Number);
      case "uint64": return Array.from(new BigUint64Array(buf, 0, buf.byteLength >> 3), Number);
      default: return new Uint8Array(buf);
    }
  };

  /** The numbers in a payload: a number, a numeric array, a {dtype, data} block, or the first such field. */
  const samplesOf = (p: unknown, depth: number): ArrayLike<number> | null => {
    if (typeof p === "number") {
      if (!stats.dtype) stats.dtype = "number";
      return [p];
    }
    if (typeof p === "boolean") return [p ? 1 : 0];
    if (Array.isArray(p)) {
      if (p.length > 0 && (typeof p[0] === "number" || p[0] === null)) {
        if (!stats.dtype) stats.dtype = "json";
        return p.map((v) => (typeof v === "number" ? v : NaN));
      }
      return null;
    }
    if (p !== null && typeof p === "object" && depth < 4) {
      const o = p as Record<string, unknown>;
      if (typeof o.dtype === "string" && typeof o.data === "string") return decode(o.dtype, o.data);
      for (const k in o) {
        const s = samplesOf(o[k], depth + 1);
        if (s) return s;
      }
    }
    return null;
  };

  const place = (values: ArrayLike<number>, ts: number) => {
    const n = values.length;
    if (n === 0) return;
    stats.samples += n;
    rateMarks.push({ ts, total: stats.samples });
    while (rateMarks.length > 2 && ts - rateMarks[0]!.ts > 2000) rateMarks.shift();
    const first = rateMarks[0]!;
    if (ts > first.ts) stats.rate = (stats.samples - first.total) / ((ts - first.ts) / 1000);
    // Samples are spread at the measured rate from where the last batch ended; the cursor is pulled back
    // to the server's clock when it drifts (bursts, gaps, a rate still being learnt).
    const dt = stats.rate > 0 ? 1000 / stats.rate : 0;
    let start = cursor < 0 || Math.abs(ts - (cursor + n * dt)) > 250 ? ts - (n - 1) * dt : cursor + dt;
    if (start < cursor) start = cursor;
    // Bin by bin: the samples a bin holds are one index range, scanned without a division per sample.
    for (let i = 0; i < n; ) {
      const b = Math.floor((start + i * dt) / binMs);
      let j = dt > 0 ? Math.ceil(((b + 1) * binMs - start) / dt) : n;
      if (j <= i) j = i + 1;
      if (j > n) j = n;
      const slot = b % CAP;
      if (binNo[slot] !== b) {
        binNo[slot] = b;
        binMin[slot] = Infinity;
        binMax[slot] = -Infinity;
      }
      let lo = binMin[slot]!;
      let hi = binMax[slot]!;
      for (let k = i; k < j; k++) {
        const v = values[k]!;
        if (v < lo) lo = v; // NaN compares false both ways: skipped
        if (v > hi) hi = v;
      }
      binMin[slot] = lo;
      binMax[slot] = hi;
      i = j;
    }
    cursor = start + (n - 1) * dt;
    lastEventTs = ts;
  };

  const onData = (e: MessageEvent) => {
    let msg: { sequence?: number; timestamp?: string; payload?: unknown };
    try {
      msg = JSON.parse(e.data as string);
    } catch {
      stats.unplottable++;
      return;
    }
    stats.events++;
    const seq = typeof msg.sequence === "number" ? msg.sequence : Number(e.lastEventId);
    if (stats.lastSequence >= 0 && seq > stats.lastSequence + 1) {
      stats.gaps++;
      stats.missed += seq - stats.lastSequence - 1;
    }
    if (seq > stats.lastSequence) stats.lastSequence = seq;
    const values = samplesOf(msg.payload, 0);
    if (!values) {
      stats.unplottable++;
      return;
    }
    const parsed = msg.timestamp ? Date.parse(msg.timestamp) : NaN;
    place(values, Number.isFinite(parsed) ? Math.max(parsed, lastEventTs) : Date.now());
  };

  const frame = (columns: number) => {
    const cols = Math.max(1, Math.min(BINS, Math.floor(columns)));
    const x = new Float64Array(cols * 2);
    const y = new Float64Array(cols * 2).fill(NaN);
    if (cursor >= 0) {
      const lastBin = Math.floor(cursor / binMs);
      const firstBin = lastBin - BINS + 1;
      const perCol = BINS / cols;
      for (let c = 0; c < cols; c++) {
        const b0 = firstBin + Math.floor(c * perCol);
        const b1 = firstBin + Math.floor((c + 1) * perCol);
        let lo = Infinity;
        let hi = -Infinity;
        for (let b = b0; b < b1; b++) {
          const slot = ((b % CAP) + CAP) % CAP;
          if (binNo[slot] !== b) continue;
          if (binMin[slot]! < lo) lo = binMin[slot]!;
          if (binMax[slot]! > hi) hi = binMax[slot]!;
        }
        const t = ((b0 + b1) / 2) * binMs / 1000;
        x[2 * c] = t;
        x[2 * c + 1] = t;
        if (lo <= hi) {
          y[2 * c] = lo;
          y[2 * c + 1] = hi;
        }
      }
    }
    const msg = { type: "frame", x, y, stats: { ...stats } };
    scope.postMessage(msg, [x.buffer, y.buffer]);
  };

  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as { type: string; url?: string; windowMs?: number; columns?: number };
    if (m.type === "open") {
      windowMs = m.windowMs!;
      resetBins();
      es = new EventSource(m.url!);
      es.onopen = () => { stats.state = "open"; };
      es.onerror = () => {
        if (!es || es.readyState !== 2) {
          stats.state = "reconnecting";
          return;
        }
        // EventSource gives up on an error status without saying which: ask once more to read the envelope.
        stats.state = "closed";
        const abort = new AbortController();
        fetch(m.url!, { signal: abort.signal }).then(async (r) => {
          if (r.ok) return abort.abort();
          const text = await r.text();
          try {
            const env = JSON.parse(text) as { error: { type: string; message: string } };
            stats.lastError = `${r.status} ${env.error.type}: ${env.error.message}`;
          } catch {
            stats.lastError = `${r.status} ${text.slice(0, 200)}`;
          }
        }).catch(() => {});
      };
      es.addEventListener("device_data", onData as EventListener);
      es.addEventListener("stream_error", ((ev: MessageEvent) => {
        try {
          const d = JSON.parse(ev.data as string) as { error?: { type?: string; message?: string } };
          stats.lastError = `${d.error?.type ?? "Error"}: ${d.error?.message ?? ""}`;
        } catch {
          stats.lastError = String(ev.data);
        }
      }) as EventListener);
    } else if (m.type === "window") {
      windowMs = m.windowMs!;
      resetBins();
    } else if (m.type === "frame") {
      frame(m.columns!);
    } else if (m.type === "close") {
      es?.close();
      es = null;
      stats.state = "closed";
    }
  };
}

let workerUrl: string | null = null;

/** A new stream worker; the page's CSP allows workers from blob: URLs only. */
export function createStreamWorker(): Worker {
  workerUrl ??= URL.createObjectURL(new Blob([`(${streamWorkerMain.toString()})()`], { type: "text/javascript" }));
  return new Worker(workerUrl);
}
