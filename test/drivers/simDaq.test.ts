import { describe, expect, test } from "bun:test";
import { SimDaq, type SimDaqBatch } from "../../drivers/sim/daq.ts";
import { DeviceConfigurationError, DeviceError, DeviceNotConnectedError } from "../../src/core/errors.ts";

/** Streams until `enough(batches)` holds; rejects after `ms`. Always stops the device. */
async function collect(daq: SimDaq, enough: (b: SimDaqBatch[]) => boolean, ms = 5000): Promise<SimDaqBatch[]> {
  const batches: SimDaqBatch[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms (${batches.length} batches)`)), ms);
      daq.startStreaming((b) => {
        batches.push(b);
        if (enough(batches)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    daq.stopStreaming(2000);
  }
  return batches;
}

describe("SimDaq", () => {
  test("connect, disconnect and the lifecycle queries", () => {
    const daq = new SimDaq("daq1", {});
    expect(daq.deviceId).toBe("daq1");
    expect(daq.isConnected()).toBe(false);
    daq.connect();
    expect(daq.isConnected()).toBe(true);
    expect(daq.isStreaming()).toBe(false);
    daq.disconnect();
    expect(daq.isConnected()).toBe(false);
  });

  test("streams contiguous Float64Array batches of the configured sine at the configured size", async () => {
    const daq = new SimDaq("daq1", { sampleRate: 100_000, batchSize: 1000, frequency: 500, amplitude: 3, noise: 0 });
    daq.connect();
    const batches = await collect(daq, (b) => b.length >= 5);
    expect(daq.isStreaming()).toBe(false);
    let i = 0;
    for (const b of batches.slice(0, 5)) {
      expect(b).toBeInstanceOf(Float64Array);
      expect(b.length).toBe(1000);
      // 200 samples per period: phase carries on across batch boundaries
      for (const v of b) expect(v).toBeCloseTo(3 * Math.sin((2 * Math.PI * i++) / 200), 9);
    }
  });

  test("dtype float32 gives Float32Array batches", async () => {
    const daq = new SimDaq("daq2", { dtype: "float32", sampleRate: 50_000, batchSize: 250 });
    daq.connect();
    const [first] = await collect(daq, (b) => b.length >= 1);
    expect(first).toBeInstanceOf(Float32Array);
    expect(first!.length).toBe(250);
  });

  test("streaming needs a connection, and only one stream at a time", () => {
    const daq = new SimDaq("daq3", { sampleRate: 1000 });
    expect(() => daq.startStreaming(() => {})).toThrow(DeviceNotConnectedError);
    daq.connect();
    daq.startStreaming(() => {});
    try {
      expect(daq.isStreaming()).toBe(true);
      expect(() => daq.startStreaming(() => {})).toThrow(DeviceError);
    } finally {
      daq.stopStreaming();
    }
    expect(() => daq.startStreaming("nope" as never)).toThrow(TypeError);
  });

  test("bad parameters are a DeviceConfigurationError naming the field", () => {
    expect(() => new SimDaq("x", { batchSize: 0 })).toThrow(DeviceConfigurationError);
    expect(() => new SimDaq("x", { sampleRate: -5 })).toThrow(/sampleRate/);
    expect(() => new SimDaq("x", { dtype: "uint8" as never })).toThrow(/dtype/);
    expect(() => new SimDaq("x", { ringCapacity: 1000 })).toThrow(/capacity/);
    expect(() => new SimDaq("x", { noise: Number.NaN })).toThrow(DeviceConfigurationError);
  });

  test("stop is idempotent, silences the callback at once, and the device can stream again", async () => {
    const daq = new SimDaq("daq4", { sampleRate: 200_000, batchSize: 200 });
    daq.connect();
    let calls = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no batch within 20 s")), 20_000);
      daq.startStreaming(() => {
        calls++;
        clearTimeout(timer);
        resolve();
      });
    });
    daq.stopStreaming(2000);
    daq.stopStreaming(2000);
    const frozen = calls;
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(frozen);
    const again = await collect(daq, (b) => b.length >= 2);
    expect(again.length).toBeGreaterThanOrEqual(2);
    daq.disconnect();
    expect(daq.isStreaming()).toBe(false);
  });

  test("a callback that throws does not stop the stream; the errors are counted", async () => {
    const daq = new SimDaq("daq5", { sampleRate: 100_000, batchSize: 100 });
    daq.connect();
    const origError = console.error;
    console.error = () => {};
    try {
      let n = 0;
      await collect(daq, () => {
        if (++n < 5) throw new Error("consumer bug");
        return true;
      });
    } finally {
      console.error = origError;
    }
    expect(daq.getStreamStats().callbackErrors).toBe(4);
  });

  test("at 10 MS/s every sample produced is delivered, dropped or still accounted for", async () => {
    const daq = new SimDaq("fast", { sampleRate: 10_000_000, batchSize: 10_000, dtype: "float32" });
    daq.connect();
    let received = 0;
    const batches = await collect(daq, (b) => {
      received += b.at(-1)!.length;
      return received >= 2_000_000; // 200 ms of signal
    });
    expect(batches.every((b) => b instanceof Float32Array && b.length <= 10_000)).toBe(true);
    const s = daq.getStreamStats();
    // stopStreaming discarded what was left, which counts as read
    expect(s.written).toBe(s.generated);
    expect(s.written).toBe(s.read + s.dropped + s.available);
    expect(s.read).toBeGreaterThanOrEqual(received);
    expect(received).toBeGreaterThanOrEqual(2_000_000);
  });
});
