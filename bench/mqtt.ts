// The MQTT bridge: how many task-progress and device-state messages per second it carries to a real broker
// (Debian's mosquitto on loopback) and a subscriber, and POST /devices/{id}/call p99 (wrk, another process)
// with the bridge idle vs publishing 1,000 messages/s, same run (goal ≤ 1.2×).
// Usage: bun bench/mqtt.ts [seconds=5]
import mqtt from "mqtt";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MqttBridge } from "../src/bridge/mqtt.ts";
import { LabDaemon, type TaskContext } from "../src/index.ts";
import { LabDaemonServer } from "../src/server/index.ts";
import { MockDevice } from "../test/support/fixtures.ts";
import { startBroker } from "../test/support/mosquitto.ts";

const seconds = Number(process.argv[2] ?? 5);
const BACKGROUND_RATE = 1000;

/** Emits `count` progress events, letting I/O run every 200. */
class ProgressTask {
  constructor(
    readonly taskId: string,
    readonly p: { count: number },
  ) {}
  async run(ctx: TaskContext) {
    for (let i = 1; i <= this.p.count; i++) {
      ctx.progress(i / this.p.count);
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    return this.p.count;
  }
}

/** Emits progress at `rate` per second until cancelled (the background load). */
class SteadyTask {
  constructor(
    readonly taskId: string,
    readonly p: { rate: number },
  ) {}
  async run(ctx: TaskContext) {
    let n = 0;
    const perTick = this.p.rate / 100;
    while (!ctx.cancelled) {
      for (let i = 0; i < perTick; i++) ctx.progress(((n++ % 1000) + 1) / 1000);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const broker = await startBroker();
const daemon = new LabDaemon();
daemon.registerPlugins({ devices: { MockDevice }, tasks: { ProgressTask, SteadyTask } });
await daemon.connectDevice(daemon.addDevice("dev1", "MockDevice", {}));
daemon.addDevice("toggle", "MockDevice", {});
const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent" });
await server.start();
const bridge = new MqttBridge(server, { url: broker.url, name: "bench", progressRateHz: 1e9, log: () => {} });
await bridge.start();

const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
let received = 0;
let watched = "";
sub.on("message", (topic) => topic.includes(watched) && received++);
await sub.subscribeAsync(["labdaemon/bench/tasks/+/event", "labdaemon/bench/devices/toggle/state"], { qos: 0 });

async function untilReceived(n: number, idleMs = 3000): Promise<void> {
  let last = received;
  let lastChange = performance.now();
  while (received < n && performance.now() - lastChange < idleMs) {
    await new Promise((r) => setTimeout(r, 20));
    if (received !== last) (last = received), (lastChange = performance.now());
  }
}

// 1. Progress messages.
const COUNT = 50_000;
watched = "/tasks/p1/";
received = 0;
let t0 = performance.now();
await daemon.executeTask("p1", "ProgressTask", { count: COUNT }).wait({ timeoutMs: 120_000 });
await untilReceived(COUNT + 2);
let ms = performance.now() - t0;
const progressRate = (received / ms) * 1000;
console.log(
  `progress: ${received} of ${COUNT + 2} messages in ${ms.toFixed(0)} ms = ${Math.round(progressRate)} msg/s (dropped ${bridge.stats.dropped})`,
);

// 2. Device state messages (each one the server's own GET /devices/{id}, retained).
const TOGGLES = 2000;
watched = "/devices/toggle/";
received = 0;
t0 = performance.now();
for (let i = 0; i < TOGGLES / 2; i++) {
  await daemon.connectDevice("toggle");
  await daemon.disconnectDevice("toggle");
}
await untilReceived(TOGGLES);
ms = performance.now() - t0;
const stateRate = (received / ms) * 1000;
console.log(`state: ${received} of ${TOGGLES} messages in ${ms.toFixed(0)} ms = ${Math.round(stateRate)} msg/s`);

// 3. /call p99, idle bridge vs publishing BACKGROUND_RATE msg/s.
const wrk = Bun.which("wrk");
async function callLatency(): Promise<{ rps: number; p99: string; p99ms: number }> {
  if (!wrk) throw new Error("wrk is needed (apt install wrk)");
  const script = join(mkdtempSync(join(tmpdir(), "ld-mqtt-bench-")), "call.lua");
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = '{"method":"addNumbers","args":[1,2]}'\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const p = Bun.spawn(
    [wrk, "-t1", "-c10", `-d${seconds}s`, "--latency", "-s", script, `${server.url}/devices/dev1/call`],
    { stdout: "pipe" },
  );
  const out = await new Response(p.stdout).text();
  await p.exited;
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "?";
  const unit = /([\d.]+)(us|ms|s)/.exec(p99);
  const p99ms = unit ? Number(unit[1]) * (unit[2] === "us" ? 0.001 : unit[2] === "s" ? 1000 : 1) : NaN;
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0), p99, p99ms };
}
const idle = await callLatency();
const steady = daemon.executeTask("bg", "SteadyTask", { rate: BACKGROUND_RATE });
watched = "/tasks/bg/";
received = 0;
const busy = await callLatency();
const bgRate = received / seconds;
steady.cancel();
await steady.wait({ timeoutMs: 5000 }).catch(() => {});
console.log(`/call idle bridge: ${Math.round(idle.rps)} req/s, p99 ${idle.p99}`);
console.log(`/call bridge publishing ${Math.round(bgRate)} msg/s: ${Math.round(busy.rps)} req/s, p99 ${busy.p99}`);
console.log(
  `summary: progress ${Math.round(progressRate)} msg/s, state ${Math.round(stateRate)} msg/s, call-p99 busy/idle ${(busy.p99ms / idle.p99ms).toFixed(2)} (goal <= 1.2)`,
);

await sub.endAsync();
await bridge.stop();
await server.stop({ timeoutMs: 1000 });
await daemon.shutdown({ timeoutMs: 1000 });
await broker.stop();
process.exit(0);
