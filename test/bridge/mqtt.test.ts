// The MQTT bridge against a real broker (Debian's mosquitto on a free loopback port): retained server and
// device state, task events, rate-limited stream data, commands under the HTTP rules, a broker restart,
// the last will when a server is killed, and `labdaemon lab` seeing two servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { resolve } from "node:path";
import { advertisedUrl, MqttBridge } from "../../src/bridge/mqtt.ts";
import { startServer, type Running } from "../client/support.ts";
import { StubbornTask, until } from "../support/fixtures.ts";
import { MOSQUITTO, startBroker, type Broker } from "../support/mosquitto.ts";
import { runCli } from "../cli/runCli.ts";

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

/** A subscriber that keeps every message and lets a test await one. */
async function watcher(url: string, topic: string) {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 200 });
  const seen: { topic: string; text: string; retain: boolean }[] = [];
  const waiters: (() => void)[] = [];
  client.on("message", (t, p, packet) => {
    seen.push({ topic: t, text: p.toString(), retain: packet.retain });
    for (const w of waiters.splice(0)) w();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  const json = (m: { text: string }) => (m.text === "" ? null : JSON.parse(m.text));
  return {
    client,
    seen,
    /** The first message (from now on, or already seen) whose topic matches and whose JSON passes `pred`. */
    until(topicRe: RegExp, pred: (v: any) => boolean = () => true, ms = 20_000): Promise<any> {
      return new Promise((res, rej) => {
        const t = setTimeout(
          () =>
            rej(
              new Error(
                `no ${topicRe} within ${ms} ms; saw ${seen.map((m) => `${m.topic} ${m.text.slice(0, 80)}`).join("\n")}`,
              ),
            ),
          ms,
        );
        const check = () => {
          const hit = seen.find((m) => topicRe.test(m.topic) && pred(json(m)));
          if (hit) {
            clearTimeout(t);
            res(json(hit));
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => client.endAsync(true),
  };
}

/** MQTT 5 request/response: publishes `cmd` with a response topic and correlation data, resolves with the answer. */
async function request(client: MqttClient, server: string, cmd: unknown): Promise<{ status: number; body: any }> {
  const replyTopic = `test/replies/${Math.random().toString(16).slice(2)}`;
  const correlation = Buffer.from(Math.random().toString(16));
  await client.subscribeAsync(replyTopic, { qos: 1 });
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error("no reply within 20 s")), 20_000);
    const onMessage = (topic: string, payload: Buffer, packet: { properties?: { correlationData?: Buffer } }) => {
      if (topic !== replyTopic) return;
      expect(Buffer.from(packet.properties?.correlationData ?? []).equals(correlation)).toBe(true);
      clearTimeout(t);
      client.off("message", onMessage);
      res(JSON.parse(payload.toString()));
    };
    client.on("message", onMessage);
    client.publish(`labdaemon/${server}/cmd`, typeof cmd === "string" ? cmd : JSON.stringify(cmd), {
      qos: 1,
      properties: { responseTopic: replyTopic, correlationData: correlation },
    });
  });
}

describe.skipIf(!MOSQUITTO)("MQTT bridge", () => {
  let broker: Broker;
  let lab: Running;
  let bridge: MqttBridge;
  beforeAll(async () => {
    broker = await startBroker();
    lab = await startServer();
    lab.daemon.addDevice("dev1", "MockDevice", {});
    lab.daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 2 });
    bridge = new MqttBridge(lab.server, {
      url: broker.url,
      name: "bench1",
      commands: true,
      streamRateHz: 5,
      log: () => {},
    });
    await bridge.start();
  });
  afterAll(async () => {
    StubbornTask.release?.();
    await bridge?.stop();
    await lab?.stop();
    await broker?.stop();
  });

  test("the status's url names this machine when the server listens on every address, else the server's own url", () => {
    const server = { url: "http://127.0.0.1:5001", port: 5001 };
    expect(advertisedUrl({ ...server, listensOnEveryAddress: true }, "optics-pc")).toBe("http://optics-pc:5001");
    expect(advertisedUrl({ ...server, listensOnEveryAddress: false }, "optics-pc")).toBe("http://127.0.0.1:5001");
    expect(lab.server.listensOnEveryAddress).toBe(false); // this test's server: loopback only
  });

  test("a new subscriber gets the retained online status and every device's state; a connect updates it", async () => {
    const w = await watcher(broker.url, "labdaemon/bench1/#");
    const status = await w.until(/\/status$/, (v) => v?.online === true);
    expect(status).toMatchObject({ online: true, server: "bench1", url: lab.server.url, pid: process.pid });
    expect(await w.until(/devices\/dev1\/state$/)).toMatchObject({
      device_id: "dev1",
      device_type: "MockDevice",
      connected: false,
      owned_by: null,
    });
    expect(w.seen.find((m) => m.topic.endsWith("/status"))!.retain).toBe(true);
    await lab.daemon.connectDevice("dev1");
    expect(await w.until(/devices\/dev1\/state$/, (v) => v.connected === true)).toMatchObject({ connected: true });
    await w.close();
  });

  test("commands run through the server's rules: a call answers, a hostile method is refused, an owned or leased device is 409, junk is 400", async () => {
    const w = await watcher(broker.url, "labdaemon/bench1/tasks/#");
    const c = w.client;
    const ok = await request(c, "bench1", { action: "call", device_id: "dev1", method: "addNumbers", args: [2, 3] });
    expect(ok).toEqual({ status: 200, body: expect.objectContaining({ result: 5 }) });
    expect((await request(c, "bench1", { action: "call", device_id: "dev1", method: "constructor" })).status).toBe(404);
    expect((await request(c, "bench1", { action: "call", device_id: "nope", method: "hello" })).body.error.type).toBe(
      "DeviceNotFound",
    );
    expect((await request(c, "bench1", "{not json")).status).toBe(400);
    expect((await request(c, "bench1", { action: "format_disk" })).body.error.message).toContain("unknown action");
    // An action that is no string (an object whose toString is not a function) is answered too.
    const odd = await request(c, "bench1", { action: { toString: 1 } });
    expect(odd).toMatchObject({ status: 400, body: { error: { type: "InvalidRequest" } } });
    expect(odd.body.error.message).toContain("unknown action of type object");

    const started = await request(c, "bench1", {
      action: "start_task",
      task_id: "hold",
      task_type: "StubbornTask",
      params: { device_ids: ["dev1"] },
    });
    expect(started.status).toBe(200);
    await w.until(/tasks\/hold\/event$/, (v) => v.event === "started");
    const refused = await request(c, "bench1", { action: "call", device_id: "dev1", method: "hello" });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ type: "DeviceInUse", context: { device_id: "dev1", task_id: "hold" } });
    const cancelled = await request(c, "bench1", { action: "cancel_task", task_id: "hold", force: true });
    // A leased device: refused without the lease, served with its lease_id.
    const lease = await lab.daemon.leases.acquire("dev1", 30_000, "mqtt-user");
    const leased = await request(c, "bench1", { action: "call", device_id: "dev1", method: "hello" });
    expect(leased.body.error).toMatchObject({ type: "DeviceLeased", context: { holder: "mqtt-user" } });
    expect(
      await request(c, "bench1", { action: "call", device_id: "dev1", method: "hello", lease_id: lease.leaseId }),
    ).toEqual({ status: 200, body: expect.objectContaining({ result: "Hello from dev1" }) });
    lab.daemon.leases.release("dev1", lease.leaseId);
    expect(cancelled.status).toBe(200);
    expect(await w.until(/tasks\/hold\/event$/, (v) => v.event === "cancelled")).toMatchObject({
      task_type: "StubbornTask",
    });
    await w.close();
  });

  test("a malformed command never takes the server down or wedges the bridge", async () => {
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 200 });
    // A lease id no header can carry is the command's mistake: 400, as any other bad value.
    for (const lease_id of ["a\nb", "☃", 5, ""]) {
      const r = await request(c, "bench1", { action: "call", device_id: "dev1", method: "hello", lease_id });
      expect({ lease_id, status: r.status, type: r.body.error.type }).toEqual({
        lease_id,
        status: 400,
        type: "InvalidRequest",
      });
    }
    // A wildcard response topic cannot be published to: the command is ignored, and the next one answers.
    const reconnects = bridge.stats.reconnects;
    const commands = bridge.stats.commands;
    await c.publishAsync("labdaemon/bench1/cmd", JSON.stringify({ action: "get_device", device_id: "dev1" }), {
      qos: 1,
      properties: { responseTopic: "test/+/replies", correlationData: Buffer.from("w") },
    });
    // Nor is one under labdaemon/, where it would overwrite a server's status.
    await c.publishAsync("labdaemon/bench1/cmd", JSON.stringify({ action: "get_device", device_id: "dev1" }), {
      qos: 1,
      properties: { responseTopic: "labdaemon/bench1/status", correlationData: Buffer.from("s") },
    });
    expect(await request(c, "bench1", { action: "get_device", device_id: "dev1" })).toMatchObject({ status: 200 });
    const status = await watcher(broker.url, "labdaemon/bench1/status");
    expect(await status.until(/status$/)).toMatchObject({ online: true, server: "bench1" });
    await status.client.endAsync(true);
    expect(bridge.stats.commands).toBe(commands + 3);
    expect(bridge.stats.connected).toBe(true);
    expect(bridge.stats.reconnects).toBe(reconnects);
    expect((await fetch(`${lab.server.url}/health`)).status).toBe(200);
    await c.endAsync(true);
  });

  test("stream data is published at the rate limit, and observing never keeps a stream alive", async () => {
    const w = await watcher(broker.url, "labdaemon/bench1/devices/s1/data");
    await lab.daemon.connectDevice("s1");
    const sub = await lab.daemon.subscribe("s1", () => {});
    const first = await w.until(/data$/);
    const third = await w.until(/data$/, (v) => v.sequence > first.sequence && w.seen.length >= 3);
    expect(third.device_id).toBe("s1");
    expect(bridge.stats.skippedStreamPayloads).toBeGreaterThan(0);
    const seqs = w.seen.map((m) => JSON.parse(m.text).sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await sub.unsubscribe();
    expect(lab.daemon.deviceState("s1").streaming).toBe(false);
    await w.close();
  });

  test("a device's retained state is what GET /devices/{id} says once a change is done: free after its task, streaming while it streams", async () => {
    const w = await watcher(broker.url, "labdaemon/bench1/devices/+/state");
    await w.until(/dev1\/state$/);
    const h = lab.daemon.executeTask("holds-dev1", "ExclusiveTask", { device_ids: ["dev1"], ms: 60_000 });
    await w.until(/dev1\/state$/, (v) => v.owned_by === "holds-dev1");
    w.seen.splice(0);
    h.cancel();
    await h.wait().catch(() => {});
    expect(lab.daemon.ownerOf("dev1")).toBeNull();
    expect(await w.until(/dev1\/state$/, (v) => v.owned_by === null)).toMatchObject({ device_id: "dev1" });

    const sub = await lab.daemon.subscribe("s1", () => {});
    expect(await w.until(/s1\/state$/, (v) => v.streaming === true)).toMatchObject({ connected: true });
    w.seen.splice(0);
    await sub.unsubscribe();
    expect(await w.until(/s1\/state$/, (v) => v.streaming === false)).toMatchObject({ device_id: "s1" });
    await w.close();
  });

  test("a bridge that stops publishes its offline status and says nothing of a lost connection", async () => {
    const lines: string[] = [];
    const other = new MqttBridge(lab.server, { url: broker.url, name: "bench1-stop", log: (_l, m) => lines.push(m) });
    await other.start();
    const w = await watcher(broker.url, "labdaemon/bench1-stop/status");
    await w.until(/status$/, (v) => v?.online === true);
    await other.stop();
    expect(await w.until(/status$/, (v) => v?.online === false)).toMatchObject({ server: "bench1-stop" });
    expect(lines.filter((l) => /lost|reconnect/.test(l))).toEqual([]);
    await w.close();
  });

  test("the broker restarted: HTTP kept serving, and the bridge reconnects and republishes its retained state", async () => {
    await broker.kill();
    expect((await fetch(`${lab.server.url}/health`)).status).toBe(200);
    await broker.restart();
    const w = await watcher(broker.url, "labdaemon/bench1/#");
    expect(await w.until(/\/status$/, (v) => v?.online === true, 60_000)).toMatchObject({ server: "bench1" });
    expect(await w.until(/devices\/dev1\/state$/)).toMatchObject({ connected: true });
    expect(bridge.stats.reconnects).toBeGreaterThan(0);
    await w.close();
  }, 90_000);

  test("a server killed with SIGKILL is marked offline by its last will; `labdaemon lab` shows both servers", async () => {
    const w = await watcher(broker.url, "labdaemon/+/status");
    const child = Bun.spawn(
      [process.execPath, MAIN, "serve", "--sim", "--port", "0", "--mqtt", broker.url, "--mqtt-name", "bench2"],
      {
        env: { ...process.env, LABDAEMON_CONFIG: "" },
        stdout: "ignore",
        stderr: "ignore",
      },
    );
    await w.until(/bench2\/status$/, (v) => v?.online === true);
    const table = await runCli(["lab", "--mqtt", broker.url, "--once", "--wait", "1500"], { timeoutMs: 30_000 });
    expect(table.exitCode).toBe(0);
    const out = table.stdout.toString();
    expect(out).toMatch(/^bench1\s+online\s+\S+\s+dev1\s+MockDevice\s+yes/m);
    expect(out).toMatch(/^bench2\s+online\s+\S+\s+laser1\s+SimLaser/m);
    child.kill("SIGKILL");
    await child.exited;
    expect(await w.until(/bench2\/status$/, (v) => v?.online === false)).toMatchObject({ server: "bench2" });
    await w.close();
  }, 60_000);
});

describe("serve --mqtt flags", () => {
  test("mistakes are one-line usage errors", async () => {
    for (const args of [
      ["serve", "--sim", "--mqtt", "not a url"],
      ["serve", "--sim", "--mqtt", "http://broker:1883"],
      ["serve", "--sim", "--mqtt-name", "x"],
      ["serve", "--sim", "--mqtt", "mqtt://127.0.0.1:1", "--mqtt-name", "a/b"],
      ["serve", "--sim", "--mqtt", "mqtt://127.0.0.1:1", "--mqtt-stream-rate", "fast"],
      ["serve", "--sim", "--mqtt", "mqtt://127.0.0.1:1", "--mqtt-ca", "/nonexistent.pem"],
      ["lab"],
      ["lab", "--mqtt", "broker"],
    ]) {
      const r = await runCli(args);
      expect({ args, code: r.exitCode }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 120_000);
});

describe("labdaemon lab without a broker", () => {
  test("a broker that refuses the connection is one line naming it, exit status 1, no stack", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const url = `mqtt://127.0.0.1:${listener.port}`;
    listener.stop(true); // nobody listens there now: the connection is refused
    const r = await runCli(["lab", "--mqtt", url, "--once", "--wait", "0"], { timeoutMs: 30_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`labdaemon: lab: ${url}: connect ECONNREFUSED`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});

describe("labdaemon lab's table", () => {
  test("text from the broker cannot put terminal control sequences on the screen", async () => {
    const { renderTable } = await import("../../src/cli/labView.ts");
    const servers = new Map([
      [
        "evil\u001b[2J",
        {
          status: { online: true, url: "http://x\u001b]0;pwned\u0007" },
          devices: new Map([["d\u009b1", { device_type: "T\r\n", connected: true, streaming: false, owned_by: null }]]),
        },
      ],
    ]);
    const out = renderTable(servers as never);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain("evil?[2J");
  });
});

describe.skipIf(!MOSQUITTO)("MQTT bridge against a demanding broker", () => {
  /** A device whose answer is larger than a small broker takes. */
  class BigAnswer {
    constructor(readonly deviceId: string) {}
    trace() {
      return Array.from({ length: 5000 }, (_, i) => i / 7);
    }
  }

  async function bridged(broker: Broker, name: string) {
    const lab = await startServer();
    lab.daemon.registerPlugins({ devices: { BigAnswer } });
    lab.daemon.addDevice("big1", "BigAnswer", {});
    const bridge = new MqttBridge(lab.server, { url: broker.url, name, commands: true, log: () => {} });
    await bridge.start();
    return { lab, bridge };
  }

  test("an answer beyond the broker's maximum packet size is a 413 reply, and the bridge stays connected", async () => {
    const broker = await startBroker("max_packet_size 20000");
    const { lab, bridge } = await bridged(broker, "small1");
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    try {
      const reconnects = bridge.stats.reconnects;
      const big = await request(c, "small1", { action: "call", device_id: "big1", method: "trace" });
      expect(big.status).toBe(413);
      expect(big.body.error.type).toBe("PayloadTooLarge");
      expect(big.body.error.message).toContain("make this request over HTTP");
      expect(await request(c, "small1", { action: "get_device", device_id: "big1" })).toMatchObject({ status: 200 });
      expect(bridge.stats.connected).toBe(true);
      expect(bridge.stats.reconnects).toBe(reconnects);
    } finally {
      await c.endAsync(true);
      await bridge.stop();
      await lab.stop();
      await broker.stop();
    }
  });

  test("a broker that refuses a reconnect for a while is tried again until it accepts", async () => {
    const broker = await startBroker();
    const { lab, bridge } = await bridged(broker, "refused1");
    try {
      await broker.kill();
      await broker.restart("allow_anonymous false"); // back, but refusing us (an auth backend not ready)
      await until(() => bridge.stats.reconnects >= 2, 30_000, "refused reconnect attempts");
      expect(bridge.stats.connected).toBe(false);
      await broker.kill();
      await broker.restart("");
      await until(() => bridge.stats.connected, 30_000, "the bridge to be back");
      const w = await watcher(broker.url, "labdaemon/refused1/#");
      expect(await w.until(/status$/)).toMatchObject({ online: true });
      await w.client.endAsync(true);
    } finally {
      await bridge.stop();
      await lab.stop();
      await broker.stop();
    }
  }, 60_000);

  test("ghost device states are cleared at connect; a clean stop leaves its devices disconnected and its own offline status", async () => {
    const broker = await startBroker();
    const seed = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await seed.publishAsync("labdaemon/ghosts1/devices/gone1/state", JSON.stringify({ connected: true }), {
      qos: 1,
      retain: true,
    });
    await seed.endAsync();
    // Watching from before the bridge comes: the ghost (retained), then its clearing (an empty payload).
    const w = await watcher(broker.url, "labdaemon/ghosts1/#");
    await w.until(/gone1\/state$/, (v) => v?.connected === true);
    const { lab, bridge } = await bridged(broker, "ghosts1");
    try {
      await w.until(/gone1\/state$/, (v) => v === null);
      await lab.daemon.connectDevice("big1");
      await w.until(/devices\/big1\/state$/, (v) => v?.connected === true);
      const fresh = await watcher(broker.url, "labdaemon/ghosts1/#");
      await fresh.until(/devices\/big1\/state$/);
      expect(fresh.seen.some((m) => m.topic.endsWith("/gone1/state"))).toBe(false); // no longer retained
      await fresh.client.endAsync(true);
      await bridge.stop();
      await w.until(/status$/, (v) => v?.online === false);
      const later = await watcher(broker.url, "labdaemon/ghosts1/#");
      expect(await later.until(/status$/)).toMatchObject({ online: false, timestamp: expect.any(String) });
      expect(await later.until(/big1\/state$/)).toMatchObject({ connected: false, streaming: false });
      await w.client.endAsync(true);
      await later.client.endAsync(true);
    } finally {
      await bridge.stop();
      await lab.stop();
      await broker.stop();
    }
  }, 60_000);
});
