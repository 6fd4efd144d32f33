// The MQTT bridge: one server's state published to a broker under labdaemon/{server}/…, so a control room
// sees a lab of many PCs and a data pipeline gets one feed; commands come back over MQTT 5 request/response
// and run through the server's own HTTP handling, so they meet exactly the rules HTTP requests meet.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import pkg from "../../package.json" with { type: "json" };
import type { StreamInfo } from "../core/streamHub.ts";
import type { LabDaemonServer } from "../server/index.ts";
import { toJson } from "../server/json.ts";
import { isoNow, isoMillis } from "../core/events.ts";
import { clip } from "../core/clip.ts";
import { envelope } from "../server/errors.ts";
import { runCommand } from "./commands.ts";
import { Outbox } from "./outbox.ts";

export interface MqttBridgeOptions {
  /** mqtt://host:1883, mqtts://host:8883, ws://… */
  url: string;
  /** The server's name in topics (labdaemon/{name}/…); letters, digits, '_', '-', '.'. Default: host-port. */
  name?: string;
  username?: string;
  password?: string;
  /** TLS: PEM files of the broker's CA, and this client's certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The server's token, when it has one: commands carry it into the server like any HTTP client. */
  serverToken?: string;
  /** Accept commands on labdaemon/{name}/cmd (default false: the bridge only publishes). */
  commands?: boolean;
  /** Most stream-data messages per device per second (default 10; 0: stream data not published). */
  streamRateHz?: number;
  /** Most progress messages per task per second (default 10); lifecycle events always go. */
  progressRateHz?: number;
  /** Messages held while the broker is away or slow; beyond it the oldest are dropped and counted (default 10,000). */
  maxQueue?: number;
  /** Longest wait between reconnect attempts, ms (default 30,000; the first is after 1 s, then doubling). */
  maxReconnectMs?: number;
  /** Where the bridge says what it is doing (default console.error). */
  log?: (level: "info" | "warn", message: string) => void;
}

export interface MqttBridgeStats {
  connected: boolean;
  published: number;
  /** Messages dropped because the queue was full (the broker away or slower than the server). */
  dropped: number;
  reconnects: number;
  commands: number;
  /** Stream payloads not published because of the rate limit. */
  skippedStreamPayloads: number;
}

const TOPIC_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/** A topic a message can be published to: no wildcards, no NUL (MQTT 5, 4.7 and 3.3.2.3.5). */
const REPLY_TOPIC = /^[^+#\u0000]{1,65535}$/;
const FIRST_RECONNECT_MS = 1000;
/** A device state topic below the bridge's prefix: "/devices/{id}/state". */
const STATE_TOPIC = /^\/devices\/([^/]+)\/state$/;
/** The largest packet the broker may send us: commands (at most 1 MiB of JSON) and their headers. */
const MAX_INCOMING_PACKET = (1 << 20) + 65_536;

export class MqttBridge {
  readonly name: string;
  readonly prefix: string;
  readonly stats: MqttBridgeStats = {
    connected: false,
    published: 0,
    dropped: 0,
    reconnects: 0,
    commands: 0,
    skippedStreamPayloads: 0,
  };
  private client: MqttClient | null = null;
  private readonly outbox: Outbox;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly streamWatchers = new Map<string, () => void>();
  private readonly lastProgress = new Map<string, number>();
  private readonly lastStreamPublish = new Map<string, number>();
  /** Devices whose state changed in this turn of the event loop, published at the next. */
  private readonly changedDevices = new Set<string>();
  private changedTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly log: (level: "info" | "warn", m: string) => void;
  private readonly streamIntervalMs: number;
  private readonly progressIntervalMs: number;
  private readonly startedAt = isoNow();
  private closed = false;

  constructor(
    private readonly server: LabDaemonServer,
    private readonly opts: MqttBridgeOptions,
  ) {
    const name = opts.name ?? `${hostname()}-${server.port}`.replace(/[^A-Za-z0-9_.-]/g, "_");
    if (!TOPIC_NAME.test(name))
      throw new RangeError(`MQTT server name '${name}' must be 1–100 letters, digits, '_', '-' or '.'`);
    this.name = name;
    this.prefix = `labdaemon/${name}`;
    this.log = opts.log ?? ((_level, m) => console.error(m));
    this.outbox = new Outbox(Math.max(1, opts.maxQueue ?? 10_000), this.stats);
    const rate = opts.streamRateHz ?? 10;
    this.streamIntervalMs = rate > 0 ? 1000 / rate : Infinity;
    this.progressIntervalMs = 1000 / Math.max(0.001, opts.progressRateHz ?? 10);
  }

  /** Connects (resolving once the first connection is up, or rejecting after `timeoutMs`) and starts publishing. */
  async start(opts: { timeoutMs?: number } = {}): Promise<void> {
    const will = { online: false, server: this.name, started_at: this.startedAt };
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: `labdaemon-${this.name}-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: FIRST_RECONNECT_MS,
      queueQoSZero: false, // our own bounded queue holds what waits
      username: this.opts.username,
      password: this.opts.password,
      ca: this.opts.caFile ? readFileSync(this.opts.caFile) : undefined,
      cert: this.opts.certFile ? readFileSync(this.opts.certFile) : undefined,
      key: this.opts.keyFile ? readFileSync(this.opts.keyFile) : undefined,
      will: { topic: `${this.prefix}/status`, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
      // A broker that refuses a reconnect (not authorized, unavailable: one restarting) is tried again with
      // the backoff below, instead of never (mqtt.js's default after a refusal).
      reconnectOnConnackError: true,
      // Commands are small: the broker need not forward anything larger to us.
      properties: { maximumPacketSize: MAX_INCOMING_PACKET },
    };
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    this.outbox.client = client;
    let period = FIRST_RECONNECT_MS;
    this.outbox.onDropped = (m, bytes) =>
      this.log(
        "warn",
        `labdaemon: MQTT message to ${clip(m.topic, 120)} not sent: ${bytes} bytes is beyond the broker's maximum packet size (${this.outbox.maxPacketBytes})`,
      );
    client.on("connect", (connack) => {
      this.outbox.maxPacketBytes = connack.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
      period = FIRST_RECONNECT_MS;
      client.options.reconnectPeriod = period;
      this.stats.connected = true;
      this.log("info", `labdaemon: MQTT connected to ${this.opts.url} as ${this.prefix}`);
      if (this.opts.commands) client.subscribe(`${this.prefix}/cmd`, { qos: 1 });
      // The broker's retained device states, once: those of devices this server no longer has (removed
      // while the bridge was away, gone from the configuration) are cleared. Our own publishes are not
      // echoed back (no local).
      client.subscribe(`${this.prefix}/devices/+/state`, { qos: 0, nl: true });
      this.outbox.connected();
    });
    client.on("close", () => {
      // Closed by stop(): the server is going, nothing is lost and nothing reconnects.
      if (this.stats.connected && !this.closed)
        this.log("warn", `labdaemon: MQTT connection to ${this.opts.url} lost; reconnecting`);
      this.stats.connected = false;
      this.outbox.disconnected();
      // Backoff: mqtt.js reads reconnectPeriod before each attempt.
      period = Math.min(period * 2, this.opts.maxReconnectMs ?? 30_000);
      client.options.reconnectPeriod = period;
    });
    client.on("reconnect", () => this.stats.reconnects++);
    client.on("error", (e) => this.log("warn", `labdaemon: MQTT: ${e.message}`));
    client.on("message", (topic, payload, packet) => {
      const ghost = STATE_TOPIC.exec(topic.slice(this.prefix.length));
      if (ghost && topic.startsWith(this.prefix)) {
        if (packet.retain && payload.length > 0 && !this.server.daemon.hasDevice(ghost[1]!)) this.outbox.clear(topic);
        return;
      }
      // A command must never take the server down with it, whatever it held.
      this.onCommand(topic, payload, packet.properties).catch((e: Error) =>
        this.log("warn", `labdaemon: MQTT command failed: ${e.message}`),
      );
    });

    this.watchDaemon();
    this.setRetained(`${this.prefix}/status`, {
      online: true,
      server: this.name,
      version: pkg.version,
      url: advertisedUrl(this.server),
      pid: process.pid,
      started_at: this.startedAt,
      timestamp: isoNow(),
    });
    for (const d of this.server.daemon.listDevices()) await this.publishDevice(d.deviceId);

    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(
          new Error(`no MQTT connection to ${this.opts.url} within ${timeoutMs} ms (still retrying in the background)`),
        );
      }, timeoutMs);
      const ok = () => (cleanup(), resolve());
      const cleanup = () => {
        clearTimeout(t);
        client.off("connect", ok);
      };
      client.on("connect", ok);
    });
  }

  /** Publishes the offline status, then disconnects; bounded by `timeoutMs`. */
  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.changedTimer) clearTimeout(this.changedTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    for (const stop of this.streamWatchers.values()) stop();
    this.streamWatchers.clear();
    const client = this.client;
    if (!client) return;
    const offline = JSON.stringify({
      online: false,
      server: this.name,
      started_at: this.startedAt,
      timestamp: isoNow(),
    });
    // The devices go with the server: their retained states say so (not "connected" under an offline server).
    const gone: [string, string][] = [];
    for (const [topic, payload] of this.outbox.retainedEntries()) {
      if (!STATE_TOPIC.test(topic.slice(this.prefix.length))) continue;
      const state = JSON.parse(payload) as Record<string, unknown>;
      gone.push([topic, JSON.stringify({ ...state, connected: false, streaming: false, owned_by: null })]);
    }
    gone.push([`${this.prefix}/status`, offline]);
    const ms = opts.timeoutMs ?? 1000;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      let left = gone.length;
      const done = () => {
        if (--left > 0) return;
        clearTimeout(t);
        resolve();
      };
      if (!client.connected) return (left = 1), done();
      for (const [topic, payload] of gone) client.publish(topic, payload, { qos: 1, retain: true }, done);
    });
    // A normal DISCONNECT, so the broker drops the last will instead of publishing it over the status above;
    // forced when the broker does not answer, so it never holds the shutdown.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, ms);
      client.end(false, { reasonCode: 0 }, () => (clearTimeout(t), resolve()));
    });
  }

  private watchDaemon(): void {
    const daemon = this.server.daemon;
    this.unsubscribe.push(
      daemon.on("device", (e) => {
        if (e.kind === "removed") {
          this.streamWatchers.get(e.deviceId)?.();
          this.streamWatchers.delete(e.deviceId);
          this.setRetained(`${this.prefix}/devices/${e.deviceId}/state`, null);
          return;
        }
        this.deviceChanged(e.deviceId);
      }),
    );
    this.unsubscribe.push(
      daemon.on("task", (e) => {
        if (e.kind === "progress") {
          const now = performance.now();
          if (now - (this.lastProgress.get(e.taskId) ?? -Infinity) < this.progressIntervalMs) return;
          this.lastProgress.set(e.taskId, now);
        } else if (e.kind !== "started" && e.kind !== "paused" && e.kind !== "resumed") {
          this.lastProgress.delete(e.taskId);
        }
        this.publish(
          `${this.prefix}/tasks/${e.taskId}/event`,
          toJson({
            event: e.kind,
            task_id: e.taskId,
            task_type: e.taskType,
            timestamp: e.timestamp,
            progress: e.progress ?? null,
            error: e.error ?? null,
          }),
        );
        // A task's start and end change who owns its devices.
        if (e.kind !== "progress" && daemon.hasTask(e.taskId))
          for (const id of daemon.getTask(e.taskId).deviceIds) this.deviceChanged(id);
      }),
    );
    this.unsubscribe.push(
      daemon.on("error", (e) => {
        this.publish(
          `${this.prefix}/errors`,
          toJson({
            scope: e.scope,
            id: e.id,
            origin: e.origin,
            type: e.error.name,
            message: e.error.message,
            context: e.context,
            timestamp: e.timestamp,
          }),
        );
      }),
    );
  }

  /**
   * Publishes the device's state once the change an event announces is done: a task's end is announced
   * before its devices are released, a stream's start before the device counts as streaming, and both
   * settle before the next turn of the event loop. Changes in one turn go as one message.
   */
  private deviceChanged(deviceId: string): void {
    this.changedDevices.add(deviceId);
    this.changedTimer ??= setTimeout(() => {
      this.changedTimer = null;
      const ids = [...this.changedDevices];
      this.changedDevices.clear();
      for (const id of ids) void this.publishDevice(id);
    }, 0);
  }

  /** The device's wire state (GET /devices/{id}, the server's own answer) as a retained message. */
  private async publishDevice(deviceId: string): Promise<void> {
    if (this.closed || !this.server.daemon.hasDevice(deviceId)) return;
    if (!this.streamWatchers.has(deviceId) && this.streamIntervalMs !== Infinity) {
      this.streamWatchers.set(
        deviceId,
        this.server.daemon.observeStream(deviceId, (payload, info) => this.onSample(payload, info)),
      );
    }
    const res = await this.inProcess("GET", `/devices/${encodeURIComponent(deviceId)}`);
    const state = res.status === 200 ? await res.json() : null;
    // Removed while the answer was on its way: its topic was cleared and must stay cleared.
    if (state === null || this.closed || !this.server.daemon.hasDevice(deviceId)) return;
    this.setRetained(`${this.prefix}/devices/${deviceId}/state`, state);
  }

  private onSample(payload: unknown, info: StreamInfo): void {
    const last = this.lastStreamPublish.get(info.deviceId) ?? -Infinity;
    const now = performance.now();
    if (now - last < this.streamIntervalMs) {
      this.stats.skippedStreamPayloads++;
      return;
    }
    this.lastStreamPublish.set(info.deviceId, now);
    this.publish(
      `${this.prefix}/devices/${info.deviceId}/data`,
      toJson({
        device_id: info.deviceId,
        sequence: info.sequence,
        timestamp: isoMillis(info.time),
        payload,
      }),
    );
  }

  private async onCommand(
    topic: string,
    payload: Buffer,
    props: { responseTopic?: string; correlationData?: Buffer } | undefined,
  ): Promise<void> {
    if (topic !== `${this.prefix}/cmd` || !this.opts.commands) return;
    this.stats.commands++;
    const reply = props?.responseTopic;
    // MQTT 5 request/response: without a response topic nobody could learn the outcome, so nothing runs.
    if (!reply) return this.log("warn", "labdaemon: MQTT command without a response topic ignored");
    // A reply to a wildcard "topic" is a protocol error the broker answers by disconnecting the bridge, and the
    // reply, still unacknowledged, would go again after every reconnect: such a command runs nowhere either.
    if (!REPLY_TOPIC.test(reply))
      return this.log(
        "warn",
        `labdaemon: MQTT command ignored: its response topic ${JSON.stringify(clip(reply, 80))} is not a topic one can publish to`,
      );
    // Under labdaemon/ are the servers' own status and state topics: a reply there would overwrite them
    // with the bridge's credentials (a requester could make a server look offline).
    if (reply.startsWith("labdaemon/"))
      return this.log(
        "warn",
        `labdaemon: MQTT command ignored: its response topic ${JSON.stringify(clip(reply, 80))} is under labdaemon/, where servers publish their state`,
      );
    const { status, body } = await runCommand(payload, (req) =>
      this.inProcess(req.method, req.path, req.body, req.leaseId),
    );
    const opts = {
      qos: 1 as const,
      properties: props?.correlationData ? { correlationData: props.correlationData } : {},
    };
    this.outbox.send({
      topic: reply,
      payload: JSON.stringify({ status, body }),
      opts,
      // The answer itself is beyond what the broker takes: the requester learns so, and where to ask instead.
      tooLarge: (bytes, max) => ({
        topic: reply,
        payload: JSON.stringify({
          status: 413,
          body: envelope(
            "PayloadTooLarge",
            `the answer (status ${status}, ${bytes} bytes) is beyond the broker's maximum packet size (${max} bytes); make this request over HTTP`,
          ),
        }),
        opts,
      }),
    });
  }

  /** A request through the whole server (host check, token, validation, ownership) without a socket. */
  private inProcess(method: string, path: string, body?: unknown, leaseId?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    // A command may carry a lease (its `lease_id`), as an HTTP request carries X-Lease-Id.
    if (leaseId !== undefined) headers["X-Lease-Id"] = leaseId;
    const token = this.opts.serverToken;
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return this.server.fetch(
      new Request(`http://127.0.0.1:${this.server.port}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  }

  private setRetained(topic: string, value: unknown): void {
    this.outbox.setRetained(topic, value);
  }

  private publish(topic: string, payload: string): void {
    if (!this.closed) this.outbox.send({ topic, payload, opts: { qos: 0 } });
  }
}

/** The server's URL as the control room can use it: when it listens on every address (0.0.0.0, ::), by
 * this machine's name rather than the loopback address its own `url` gives then. */
export function advertisedUrl(
  server: Pick<LabDaemonServer, "url" | "port" | "listensOnEveryAddress">,
  host = hostname(),
): string {
  return server.listensOnEveryAddress ? `http://${host}:${server.port}` : server.url;
}
