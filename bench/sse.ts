// SSE end to end: a device producing Float64Array batches → LabDaemonServer → clients in another process
// (fetch + SseParser + JSON.parse, as a real client does). Same run, same client: a bare Bun.serve pull
// ReadableStream producing the same events with nothing in between (the baseline).
// Goals (issue 4): ≥ 2 M samples/s as JSON and ≥ 10 M samples/s with encoding=base64 with zero drops for a
// client that keeps up; p99 callback → client < 2 ms at 1,000 events/s; 100 subscribers × 100 events/s all
// delivered, with CPU and RSS. Usage: bun bench/sse.ts [seconds per run, default 3] [json|base64|latency|fanout|simdaq]
import { SseParser } from "../src/client/sseParser.ts";
import { LabDaemon } from "../src/index.ts";
import { LabDaemonServer } from "../src/server/index.ts";
import { toJson } from "../src/server/json.ts";
import { SimDaq } from "../drivers/index.ts";

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- client process

interface ClientJob {
  urls: string[];
  seconds: number;
  /** Count samples from payloads (`json`: array length, `base64`: bytes / 8), or read `payload.t` for latency. */
  kind: "json" | "base64" | "latency";
  /** Ignore this long at the start (connection set-up, JIT warm-up). */
  warmupMs: number;
}

interface ClientResult {
  samples: number;
  events: number;
  gaps: number;
  missed: number;
  seconds: number;
  latenciesMs: number[];
}

async function runClients(job: ClientJob): Promise<ClientResult> {
  const res: ClientResult = { samples: 0, events: 0, gaps: 0, missed: 0, seconds: 0, latenciesMs: [] };
  const t0 = performance.now();
  const measureFrom = t0 + job.warmupMs;
  const measureTo = measureFrom + job.seconds * 1000;
  const abort = new AbortController();
  setTimeout(() => abort.abort(), job.warmupMs + job.seconds * 1000 + 50);
  await Promise.all(
    job.urls.map(async (url) => {
      let last: number | undefined;
      const parser = new SseParser((m) => {
        if (m.event !== "device_data") return;
        const t = performance.now();
        const d = JSON.parse(m.data);
        if (last !== undefined && d.sequence > last + 1) {
          res.gaps++;
          res.missed += d.sequence - last - 1;
        }
        last = d.sequence;
        if (t < measureFrom || t > measureTo) return;
        res.events++;
        if (job.kind === "json") res.samples += d.payload.length;
        else if (job.kind === "base64") res.samples += Buffer.from(d.payload.data, "base64").byteLength / 8;
        else res.latenciesMs.push(now() - d.payload.t);
      });
      try {
        const r = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
        const dec = new TextDecoder();
        for await (const chunk of r.body!) parser.feed(dec.decode(chunk, { stream: true }));
      } catch {
        // aborted at the end of the run
      }
    }),
  );
  res.seconds = job.seconds;
  return res;
}

if (process.argv[2] === "--client") {
  const job = JSON.parse(process.argv[3]!) as ClientJob;
  const r = await runClients(job);
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
}

function spawnClients(job: ClientJob): Promise<ClientResult> {
  const p = Bun.spawn([process.execPath, import.meta.path, "--client", JSON.stringify(job)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  return new Response(p.stdout).text().then((t) => JSON.parse(t) as ClientResult);
}

// ---------------------------------------------------------------- the device

/** A DAQ stand-in: `rate` samples/s in Float64Array batches of `batch`, paced against the clock. */
class BenchDaq {
  private running = false;
  produced = 0;
  constructor(
    readonly deviceId: string,
    readonly p: { rate: number; batch: number; latency?: boolean },
  ) {}
  startStreaming(cb: (d: unknown) => void) {
    this.running = true;
    const batch = new Float64Array(this.p.batch).map((_, i) => Math.sin(i / 10));
    const start = performance.now();
    let sent = 0;
    const tick = () => {
      if (!this.running) return;
      const due = ((performance.now() - start) / 1000) * this.p.rate;
      // At most 50 ms of data per tick, so a stalled loop cannot turn into one giant burst.
      for (let n = 0; sent + this.p.batch <= due && n < this.p.rate / this.p.batch / 20 + 1; n++) {
        cb(this.p.latency ? { t: now(), data: batch } : batch);
        sent += this.p.batch;
      }
      this.produced = sent;
      // A timer, not setImmediate: a spinning producer would burn a core the client process needs.
      setTimeout(tick, 1);
    };
    tick();
  }
  stopStreaming() {
    this.running = false;
  }
  isStreaming() {
    return this.running;
  }
}

// ---------------------------------------------------------------- the baseline

/** Bun.serve + pull ReadableStream: each pull serialises one batch event (no hub, no queue, no auth). */
function baselineServer(batch: number, encoding: "json" | "base64", eventsPerSecond?: number) {
  const data = new Float64Array(batch).map((_, i) => Math.sin(i / 10));
  const enc = new TextEncoder();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch() {
      let seq = 0;
      const start = performance.now();
      return new Response(
        new ReadableStream<Uint8Array>(
          {
            async pull(ctrl) {
              if (eventsPerSecond) {
                const due = start + ((seq + 1) * 1000) / eventsPerSecond;
                const wait = due - performance.now();
                if (wait > 0) await Bun.sleep(wait);
              }
              seq++;
              const json = `{"event":"device_data","device_id":"daq","timestamp":"${new Date().toISOString()}","sequence":${seq},"payload":${toJson(data, encoding)}}`;
              ctrl.enqueue(enc.encode(`id: ${seq}\nevent: device_data\ndata: ${json}\n\n`));
            },
          },
          { highWaterMark: 0 },
        ),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  return server;
}

// ---------------------------------------------------------------- runs

const SECONDS = Number(process.argv[2] ?? 3);
const WARMUP_MS = 500;

async function serve(params: { rate: number; batch: number; latency?: boolean }) {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { BenchDaq } });
  daemon.addDevice("daq", "BenchDaq", params);
  const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
  await server.start();
  return {
    url: server.url,
    daemon,
    server,
    async stop() {
      await server.stop({ timeoutMs: 1000 });
      await daemon.shutdown({ timeoutMs: 1000 });
    },
  };
}

const fmt = (n: number) => (n / 1e6).toFixed(2);

async function throughput(encoding: "json" | "base64", batch: number, rates: number[]) {
  const base = baselineServer(batch, encoding);
  const b = await spawnClients({
    urls: [`http://127.0.0.1:${base.port}/`],
    seconds: SECONDS,
    kind: encoding,
    warmupMs: WARMUP_MS,
  });
  base.stop(true);
  const baseRate = b.samples / b.seconds;
  console.log(
    `${encoding.padEnd(6)} baseline (bare Bun.serve pull stream, as fast as the client reads): ${fmt(baseRate)} M samples/s, batches of ${batch}`,
  );
  let best = 0;
  for (const rate of rates) {
    const s = await serve({ rate, batch });
    const q = encoding === "base64" ? "?encoding=base64" : "";
    const r = await spawnClients({
      urls: [`${s.url}/stream/devices/daq${q}`],
      seconds: SECONDS,
      kind: encoding,
      warmupMs: WARMUP_MS,
    });
    const dropped = s.server.sse.stats("daq")?.dropped ?? 0;
    await s.stop();
    const got = r.samples / r.seconds;
    const ok = dropped === 0 && r.missed === 0 && got >= rate * 0.97;
    console.log(
      `${encoding.padEnd(6)} labdaemon, device at ${fmt(rate)} M samples/s: delivered ${fmt(got)} M samples/s ` +
        `(${(got / baseRate).toFixed(2)}× baseline), dropped ${dropped}, client saw ${r.missed} missing ${ok ? "" : " ← falls behind"}`,
    );
    if (!ok) break;
    best = got;
  }
  return { baseRate, best };
}

async function latency() {
  const s = await serve({ rate: 1000 * 100, batch: 100, latency: true }); // 1,000 events/s of 100 samples
  const r = await spawnClients({
    urls: [`${s.url}/stream/devices/daq`],
    seconds: SECONDS,
    kind: "latency",
    warmupMs: WARMUP_MS,
  });
  await s.stop();
  const l = r.latenciesMs.sort((a, b) => a - b);
  const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))]!;
  console.log(
    `latency callback → client at ${(r.events / r.seconds).toFixed(0)} events/s: p50 ${q(0.5).toFixed(3)} ms, ` +
      `p99 ${q(0.99).toFixed(3)} ms, max ${l.at(-1)!.toFixed(3)} ms (${l.length} events)`,
  );
  return q(0.99);
}

async function fanout(subscribers: number, eventsPerSecond: number) {
  const seconds = Math.max(SECONDS, 3);
  const batch = 100;
  const measure = async (label: string, urls: string[], stats?: () => number) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 100);
    const r = await spawnClients({ urls, seconds, kind: "json", warmupMs: WARMUP_MS });
    clearInterval(sampler);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const expected = subscribers * eventsPerSecond * seconds;
    console.log(
      `${label.padEnd(10)} ${subscribers} subscribers × ${eventsPerSecond} events/s: ${r.events} events in ${seconds} s ` +
        `(${((r.events / expected) * 100).toFixed(1)}% of ${expected}), missing ${r.missed}, dropped ${stats?.() ?? "n/a"}, ` +
        `server CPU ${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(1)}%, RSS max ${(rssMax / 2 ** 20).toFixed(0)} MiB`,
    );
  };
  const base = baselineServer(batch, "json", eventsPerSecond);
  await measure(
    "baseline",
    Array.from({ length: subscribers }, () => `http://127.0.0.1:${base.port}/`),
  );
  base.stop(true);
  const s = await serve({ rate: eventsPerSecond * batch, batch });
  await measure(
    "labdaemon",
    Array.from({ length: subscribers }, () => `${s.url}/stream/devices/daq`),
    () => s.server.sse.stats("daq")?.dropped ?? 0,
  );
  await s.stop();
}

const only = process.argv[3] ?? "";
const want = (name: string) => !only || only === name;
/** The real simulated DAQ (native source → SampleRing → one wake-up per batch) instead of the paced JS device. */
async function simDaq(rate: number) {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { SimDaq } });
  daemon.addDevice("daq", "SimDaq", { sampleRate: rate, batchSize: 10_000 });
  await daemon.connectDevice("daq");
  const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
  await server.start();
  const r = await spawnClients({
    urls: [`${server.url}/stream/devices/daq?encoding=base64`],
    seconds: SECONDS,
    kind: "base64",
    warmupMs: WARMUP_MS,
  });
  const dropped = server.sse.stats("daq")?.dropped ?? 0;
  await server.stop({ timeoutMs: 1000 });
  await daemon.shutdown({ timeoutMs: 1000 });
  console.log(
    `SimDaq at ${fmt(rate)} MS/s, base64: delivered ${fmt(r.samples / r.seconds)} M samples/s, dropped ${dropped}, client saw ${r.missed} missing`,
  );
}

console.log(
  `bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${SECONDS} s per run (+${WARMUP_MS} ms warm-up), client in a separate process\n`,
);
const json = want("json") ? await throughput("json", 2000, [2e6, 4e6, 8e6]) : { best: NaN };
const b64 = want("base64") ? await throughput("base64", 10000, [10e6, 20e6, 40e6, 80e6]) : { best: NaN };
const p99 = want("latency") ? await latency() : NaN;
if (want("fanout")) await fanout(100, 100);
if (want("simdaq")) await simDaq(10e6);
const goals = [
  Number.isNaN(json.best) ? "" : `JSON ≥ 2 M samples/s ${json.best >= 2e6 ? "met" : "NOT met"} (${fmt(json.best)})`,
  Number.isNaN(b64.best) ? "" : `base64 ≥ 10 M samples/s ${b64.best >= 10e6 ? "met" : "NOT met"} (${fmt(b64.best)})`,
  Number.isNaN(p99) ? "" : `p99 < 2 ms ${p99 < 2 ? "met" : "NOT met"} (${p99.toFixed(3)} ms)`,
].filter(Boolean);
if (goals.length) console.log(`\ngoals: ${goals.join(", ")}`);
