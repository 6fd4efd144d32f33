// A device stream read off the main thread: a Worker (from a blob: URL: the page is one file) reads the
// SSE stream with fetch, decodes base64 payloads, folds samples into min/max time bins and answers each
// frame request with one min/max pair per pixel column. The main thread only draws what it gets.
// fetch, not EventSource: Chromium's EventSource turns each ~100 kB event into a UTF-16 string and a
// MessageEvent, and on a busy 2-core machine it received under half of a 1 MS/s DAQ's events where a
// fetch reader parsing the bytes itself received all of them. The token goes as a header, the last
// sequence as Last-Event-ID on reconnect, as EventSource would.

/** Main thread → worker. */
export type ToWorker =
  | { type: "open"; url: string; token: string | null; windowMs: number }
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
  /** Server time (ms) of the newest sample placed. */
  let cursor = -1;
  let lastEventTs = -1;
  const rateMarks: { ts: number; total: number }[] = [];
  const stats = {
    state: "connecting",
    events: 0,
    samples: 0,
    rate: 0,
    gaps: 0,
    missed: 0,
    lastSequence: -1,
    dtype: "",
    unplottable: 0,
    lastError: null as string | null,
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
      case "float64":
        return new Float64Array(buf, 0, buf.byteLength >> 3);
      case "float32":
        return new Float32Array(buf, 0, buf.byteLength >> 2);
      case "int32":
        return new Int32Array(buf, 0, buf.byteLength >> 2);
      case "uint32":
        return new Uint32Array(buf, 0, buf.byteLength >> 2);
      case "int16":
        return new Int16Array(buf, 0, buf.byteLength >> 1);
      case "uint16":
        return new Uint16Array(buf, 0, buf.byteLength >> 1);
      case "int8":
        return new Int8Array(buf);
      case "int64":
        return Array.from(new BigInt64Array(buf, 0, buf.byteLength >> 3), Number);
      case "uint64":
        return Array.from(new BigUint64Array(buf, 0, buf.byteLength >> 3), Number);
      default:
        return new Uint8Array(buf);
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

  /** One device_data event's JSON. Its payload comes last: a {dtype, data} block is cut out without parsing it. */
  const onData = (data: string, id: string) => {
    const at = data.indexOf('"payload":');
    let head: { sequence?: number; timestamp?: string; payload?: unknown };
    let values: ArrayLike<number> | null;
    try {
      if (at < 0) {
        head = JSON.parse(data);
        values = samplesOf(head.payload, 0);
      } else {
        head = JSON.parse(`${data.slice(0, at)}"payload":null}`);
        const payload = data.slice(at + 10, -1);
        const d = payload.startsWith('{"dtype":"') ? payload.indexOf('","data":"', 10) : -1;
        values =
          d > 0 && payload.endsWith('"}')
            ? decode(payload.slice(10, d), payload.slice(d + 10, -2))
            : samplesOf(JSON.parse(payload), 0);
      }
    } catch {
      stats.unplottable++;
      return;
    }
    stats.events++;
    const seq = typeof head.sequence === "number" ? head.sequence : Number(id);
    if (stats.lastSequence >= 0 && seq > stats.lastSequence + 1) {
      stats.gaps++;
      stats.missed += seq - stats.lastSequence - 1;
    }
    if (seq > stats.lastSequence) stats.lastSequence = seq;
    if (!values) {
      stats.unplottable++;
      return;
    }
    const parsed = head.timestamp ? Date.parse(head.timestamp) : NaN;
    place(values, Number.isFinite(parsed) ? Math.max(parsed, lastEventTs) : Date.now());
  };

  const onStreamError = (data: string) => {
    try {
      const d = JSON.parse(data) as { error?: { type?: string; message?: string } };
      stats.lastError = `${d.error?.type ?? "Error"}: ${d.error?.message ?? ""}`;
    } catch {
      stats.lastError = data.slice(0, 200);
    }
  };

  /** One SSE event block (the lines between blank lines). */
  const dispatch = (block: string) => {
    let event = "message";
    let id = "";
    let data = "";
    let hasData = false;
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(line[colon + 1] === " " ? colon + 2 : colon + 1);
      if (field === "data") {
        data = hasData ? `${data}\n${value}` : value;
        hasData = true;
      } else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    if (!hasData) return;
    if (event === "device_data") onData(data, id);
    else if (event === "stream_error") onStreamError(data);
  };

  let abort: AbortController | null = null;
  let closed = false;
  let retryMs = 500;
  const MAX_EVENT_CHARS = 32 << 20;

  /** Reads the stream until it ends; reconnects (with Last-Event-ID) unless closed or refused with a 4xx. */
  const connect = async (url: string, token: string | null) => {
    if (closed) return;
    abort = new AbortController();
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (stats.lastSequence >= 0) headers["Last-Event-ID"] = String(stats.lastSequence);
    try {
      const r = await fetch(url, { headers, signal: abort.signal, cache: "no-store" });
      if (!r.ok) {
        const text = await r.text();
        try {
          const env = JSON.parse(text) as { error: { type: string; message: string } };
          stats.lastError = `${r.status} ${env.error.type}: ${env.error.message}`;
        } catch {
          stats.lastError = `${r.status} ${text.slice(0, 200)}`;
        }
        if (r.status < 500) {
          stats.state = "closed";
          return;
        }
        throw new Error(`status ${r.status}`);
      }
      // 204: the stream was stopped on request (POST /devices/{id}/stream/stop); the server asks us not to
      // come back, and coming back would only ask again, twice a second (the stream_error before it says why).
      if (r.status === 204) {
        stats.state = "closed";
        return;
      }
      stats.state = "open";
      // An error that ended the last connection (the server stopping, say) is over once a new one streams.
      stats.lastError = null;
      retryMs = 500;
      const reader = r.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let from = Math.max(0, buf.length - 1);
        buf += decoder.decode(value, { stream: true });
        // No event is this big (the server's queues are bounded by 8 MiB): this is not an event stream.
        if (buf.length > MAX_EVENT_CHARS) throw new Error("event larger than the bound");
        let end: number;
        while ((end = buf.indexOf("\n\n", from)) >= 0) {
          dispatch(buf.slice(0, end));
          buf = buf.slice(end + 2);
          from = 0;
        }
      }
    } catch {
      // aborted (closed), or the connection broke: retried below
    }
    if (closed) return;
    stats.state = "reconnecting";
    setTimeout(() => connect(url, token), retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
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
        const t = (((b0 + b1) / 2) * binMs) / 1000;
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
    const m = e.data as { type: string; url?: string; token?: string | null; windowMs?: number; columns?: number };
    if (m.type === "open") {
      windowMs = m.windowMs!;
      resetBins();
      void connect(m.url!, m.token ?? null);
    } else if (m.type === "window") {
      windowMs = m.windowMs!;
      resetBins();
    } else if (m.type === "frame") {
      frame(m.columns!);
    } else if (m.type === "close") {
      closed = true;
      abort?.abort();
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
