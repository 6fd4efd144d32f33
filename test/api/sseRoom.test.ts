// DeviceRoom (one core subscription shared by a device's SSE clients) against a stop that arrives
// while the device is still starting.
import { expect, test } from "bun:test";
import { LabDaemon } from "../../src/index.ts";
import { DeviceRoom } from "../../src/server/sse/deviceRoom.ts";
import { until } from "../support/fixtures.ts";

class SlowStart {
  cb: ((x: unknown) => void) | null = null;
  starts = 0;
  gate: (() => void) | null = null;
  async startStreaming(cb: (x: unknown) => void) {
    this.starts++;
    if (this.starts === 1) await new Promise<void>((r) => (this.gate = r)); // the first start hangs until released
    this.cb = cb;
  }
  stopStreaming() {
    this.cb = null;
  }
  isStreaming() {
    return this.cb !== null;
  }
}

test("a stop during the start ends that subscription; a client joining after it gets the device started again", async () => {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { SlowStart } });
  daemon.addDevice("m1", "SlowStart");
  const dev = daemon.getDeviceInstance("m1") as SlowStart;
  const room = new DeviceRoom(daemon, "m1", {
    connection: { limits: { maxEvents: 100, maxBytes: 1 << 20 }, keepAliveMs: 0 },
    replay: { maxEvents: 10, maxBytes: 1 << 20 },
    resumeGraceMs: 0,
  });
  const a = room.join(new AbortController().signal, "json"); // a client that does not read: its end stays queued
  await until(() => dev.gate !== null, 2000, "the first start");
  const stopping = daemon.stopStreaming("m1");
  dev.gate!();
  await stopping;
  expect(a.isOpen).toBe(false); // told with stream_error
  const b = room.join(new AbortController().signal, "json");
  await until(() => daemon.deviceState("m1").streaming, 2000, "the device to stream again for the new client");
  expect(b.isOpen).toBe(true);
  expect(dev.starts).toBe(2);
  expect(daemon.deviceState("m1")).toMatchObject({ streaming: true, subscribers: 1, streamStartedBy: "subscribers" });
  room.close();
  await daemon.shutdown({ timeoutMs: 500 });
});
