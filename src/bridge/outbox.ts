// The bridge's outbox: what goes to the broker next. Retained topics keep only their latest value and go
// first; events and replies wait in one bounded queue (oldest dropped and counted) while the broker lags.
import type { IClientPublishOptions, MqttClient } from "mqtt";

/** Published messages awaiting the broker's acknowledgement or the socket's write, before queueing starts. */
const MAX_IN_FLIGHT = 256;

export interface Outgoing {
  topic: string;
  payload: string;
  opts: IClientPublishOptions;
  /** What goes instead when the message is beyond the broker's maximum packet size (default: nothing). */
  tooLarge?: (bytes: number, max: number) => Outgoing | null;
}

/** Bytes of a PUBLISH beyond its topic and payload: fixed header, lengths, packet id, properties. */
const PUBLISH_OVERHEAD = 64;

export class Outbox {
  client: MqttClient | null = null;
  /** The broker's maximum packet size (CONNACK): a larger message would make it drop the connection, and
   * a reply (QoS 1) would go again after every reconnect, so the bridge would never get anything out. */
  maxPacketBytes = Number.POSITIVE_INFINITY;
  /** Told about a message not sent because it was too large (and nothing replaced it). */
  onDropped: ((m: Outgoing, bytes: number) => void) | null = null;
  /** Retained topics and their last payload: republished after every (re)connect. */
  private readonly retained = new Map<string, string>();
  /** Retained topics whose latest value (or clearing) the broker may not have yet. */
  private readonly dirty = new Set<string>();
  private readonly queue: Outgoing[] = [];
  private inFlight = 0;

  /** `counts` is the bridge's stats object: published and dropped are counted into it. */
  constructor(
    private readonly maxQueue: number,
    private readonly counts: { published: number; dropped: number },
  ) {}

  /** Sets a retained topic's value (null clears the broker's copy); an unchanged value is not sent again. */
  setRetained(topic: string, value: unknown): void {
    const payload = value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
    if ((this.retained.get(topic) ?? "") === payload) return;
    if (payload === "") this.retained.delete(topic);
    else this.retained.set(topic, payload);
    this.dirty.add(topic);
    this.drain();
  }

  /** Clears a retained topic on the broker that this bridge holds no value for (one left from before). */
  clear(topic: string): void {
    if (this.retained.has(topic)) return;
    this.dirty.add(topic);
    this.drain();
  }

  /** The retained topics and their values, as the broker should hold them. */
  retainedEntries(): [string, string][] {
    return [...this.retained];
  }

  /** An event or a command's reply: waits in one bounded queue, oldest dropped (and counted) when full. */
  send(m: Outgoing): void {
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.counts.dropped++;
    }
    this.queue.push(m);
    this.drain();
  }

  /** After a (re)connect: a restarted broker has lost its retained copies, so all of them go again. */
  connected(): void {
    for (const topic of this.retained.keys()) this.dirty.add(topic);
    this.drain();
  }

  /** The connection closed: what was in flight will not be acknowledged on it. */
  disconnected(): void {
    this.inFlight = 0;
  }

  /**
   * Publishes what waits while the broker keeps up: retained topics first, each with its latest value
   * (never an older one queued earlier; an empty payload clears the broker's copy), then events in order.
   */
  private drain(): void {
    const client = this.client;
    while (client?.connected && this.inFlight < MAX_IN_FLIGHT) {
      let m: Outgoing | undefined;
      const topic = this.dirty.values().next().value;
      if (topic !== undefined) {
        this.dirty.delete(topic);
        m = { topic, payload: this.retained.get(topic) ?? "", opts: { qos: 1, retain: true } };
      } else {
        m = this.queue.shift();
      }
      if (!m) return;
      const sent = this.fitting(m);
      if (!sent) continue;
      this.inFlight++;
      client.publish(sent.topic, sent.payload, sent.opts, (err) => {
        this.inFlight = Math.max(0, this.inFlight - 1);
        if (err && sent.opts.retain && !this.dirty.has(sent.topic)) this.dirty.add(sent.topic);
        if (!err) this.counts.published++;
        this.drain();
      });
    }
  }

  /** `m`, or what replaces it when it is beyond the broker's limit, or null (counted and reported). */
  private fitting(m: Outgoing): Outgoing | null {
    const correlation = (m.opts.properties?.correlationData as Uint8Array | undefined)?.byteLength ?? 0;
    const bytes = Buffer.byteLength(m.payload) + Buffer.byteLength(m.topic) + correlation + PUBLISH_OVERHEAD;
    if (bytes <= this.maxPacketBytes) return m;
    const instead = m.tooLarge?.(bytes, this.maxPacketBytes) ?? null;
    if (instead) return this.fitting(instead);
    this.counts.dropped++;
    this.onDropped?.(m, bytes);
    return null;
  }
}
