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
