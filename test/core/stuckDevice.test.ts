// A device stuck in a call whose caller timed out: calls behind it fail fast (DeviceTimeoutError "still
// busy"), a disconnect runs beside the stuck call, and the device serves again once that call settles.
import { expect, test } from "bun:test";
import { DeviceTimeoutError, LabDaemon } from "../../src/index.ts";

class Hanging {
  ran: string[] = [];
  #release: (() => void) | null = null;
  constructor(readonly deviceId: string) {}
  connect() {}
  hold() {
    this.ran.push("hold");
    return new Promise<void>((r) => (this.#release = r));
  }
  quick() {
    this.ran.push("quick");
    return 1;
  }
  /** Closing the instrument is what ends the hung exchange. */
  disconnect() {
    this.ran.push("disconnect");
    this.#release?.();
  }
}

test("calls queued or made after a timed-out call fail fast; disconnect reaches the stuck device", async () => {
  const d = new LabDaemon();
  d.registerPlugins({ devices: { Hanging } });
  const dev = d.addDevice<Hanging>("h", "Hanging", {}, { callTimeoutMs: 10_000 });
  await d.connectDevice("h");
  const raw = d.getDeviceInstance("h") as Hanging;

  const held = d.call("h", "hold", [], { timeoutMs: 50 }).catch((e) => e);
  const queued = dev.quick().catch((e) => e); // its own bound is 10 s
  expect(await held).toBeInstanceOf(DeviceTimeoutError);
  const q = await queued;
  expect(q).toBeInstanceOf(DeviceTimeoutError);
  expect(q.message).toContain("still busy with a timed-out call 'hold'");
  expect(q.context).toMatchObject({ device_id: "h", method: "quick", busy_with: "hold" });
  const after = await dev.quick().catch((e) => e);
  expect(after.message).toContain("still busy");
  expect(raw.ran).toEqual(["hold"]);

  await d.disconnectDevice("h");
  expect(raw.ran).toEqual(["hold", "disconnect"]);
  expect(d.deviceState("h").busy).toBe(false);
  expect(await dev.quick()).toBe(1);
  await d.shutdown({ timeoutMs: 200 });
});

/** A streaming instrument with a measurement the test holds, and one session at most when all is well. */
class Streamer {
  starts = 0;
  stops = 0;
  sessions = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #release: (() => void) | null = null;
  readonly stopped = Promise.withResolvers<void>();
  readonly disconnected = Promise.withResolvers<void>();
  constructor(readonly deviceId: string) {}
  connect() {
    this.sessions++;
  }
  disconnect() {
    this.sessions--;
    this.disconnected.resolve();
  }
  startStreaming(cb: (v: number) => void) {
    this.starts++;
    this.#timer = setInterval(() => cb(1), 5);
  }
  stopStreaming() {
    this.stops++;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.stopped.resolve();
  }
  get running(): boolean {
    return this.#timer !== null;
  }
  measure() {
    return new Promise<number>((r) => (this.#release = () => r(1)));
  }
  release() {
    this.#release?.();
  }
}

function streamerLab(callTimeoutMs = 60_000) {
  const d = new LabDaemon();
  d.registerPlugins({ devices: { Streamer } });
  d.addDevice("s", "Streamer", {}, { callTimeoutMs });
  return { d, raw: d.getDeviceInstance("s") as Streamer };
}

test("a stream stop that times out waiting behind a running call still runs when the call ends", async () => {
  const { d, raw } = streamerLab();
  const sub = await d.subscribe("s", () => {});
  const measuring = d.call("s", "measure");
  await sub.unsubscribe(); // its stop waits its turn behind the measurement, past the stop's bound
  expect(d.deviceState("s").streaming).toBe(false);
  expect(raw.stops).toBe(0);
  raw.release();
  await measuring;
  await raw.stopped.promise; // before: the stop was dropped and the instrument streamed on for nobody
  expect(raw.running).toBe(false);
  const again = await d.subscribe("s", () => {});
  expect([raw.starts, raw.stops]).toEqual([2, 1]);
  await again.unsubscribe();
  await d.shutdown({ timeoutMs: 2000 });
});

test("a device stuck in a timed-out call still gets its stream stopped once that call ends", async () => {
  const { d, raw } = streamerLab(100);
  const sub = await d.subscribe("s", () => {});
  expect(await d.call("s", "measure").catch((e) => e)).toBeInstanceOf(DeviceTimeoutError);
  await sub.unsubscribe(); // the device is stuck: the stop used to be refused at once and never retried
  raw.release();
  await raw.stopped.promise;
  expect([raw.running, raw.stops]).toEqual([false, 1]);
  await d.shutdown({ timeoutMs: 2000 });
});

test("a disconnect that times out waiting behind a call still runs: a reconnect never leaves two sessions", async () => {
  const { d, raw } = streamerLab();
  await d.connectDevice("s");
  const measuring = d.call("s", "measure", [], { asClient: true });
  const err = await d.disconnectDevice("s", { timeoutMs: 100, asClient: true }).catch((e) => e);
  expect(err).toBeInstanceOf(DeviceTimeoutError);
  expect(d.deviceState("s").connected).toBe(false);
  raw.release();
  await measuring;
  await raw.disconnected.promise;
  await d.connectDevice("s");
  expect(raw.sessions).toBe(1);
  await d.shutdown({ timeoutMs: 2000 });
});
