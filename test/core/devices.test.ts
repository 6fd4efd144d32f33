import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  DeviceConnectionError,
  DeviceCreationError,
  DeviceError,
  DeviceExistsError,
  DeviceInUseError,
  DeviceNotFoundError,
  DeviceTimeoutError,
  DeviceTypeNotFoundError,
  InvalidRequestError,
  LabDaemon,
  MethodNotFoundError,
} from "../../src/index.ts";
import { MockDevice, StubbornTask, deviceClasses, taskClasses, until } from "../support/fixtures.ts";

let daemon: LabDaemon;
beforeEach(() => {
  daemon = new LabDaemon();
  daemon.registerPlugins({ devices: deviceClasses, tasks: taskClasses });
});
afterEach(() => daemon.shutdown({ timeoutMs: 100 }));

describe("registry", () => {
  test("a new daemon has empty registries", () => {
    const d = new LabDaemon();
    expect(d.deviceTypeNames()).toEqual([]);
    expect(d.taskTypeNames()).toEqual([]);
    expect(d.listDevices()).toEqual([]);
    expect(d.listTasks()).toEqual([]);
  });

  test("registerPlugins stores classes by name, either key optional", () => {
    const d = new LabDaemon();
    d.registerPlugins({ devices: { MockDevice } });
    d.registerPlugins({ tasks: { MockTask: taskClasses.MockTask } });
    expect(d.deviceTypeNames()).toEqual(["MockDevice"]);
    expect(d.taskTypeNames()).toEqual(["MockTask"]);
  });

  test("registering a duplicate type throws and registers nothing of that call", () => {
    const d = new LabDaemon();
    d.registerPlugins({ devices: { MyDevice: MockDevice } });
    expect(() => d.registerPlugins({ devices: { Other: MockDevice, MyDevice: MockDevice } })).toThrow(
      "Device type 'MyDevice' is already registered.",
    );
    expect(d.deviceTypeNames()).toEqual(["MyDevice"]);
  });

  test("addDevice constructs with (id, params), does not connect, getDevice returns the same proxy", () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice", { address: "COM1" });
    expect(dev.address).toBe("COM1");
    expect(dev.deviceId).toBe("dev1");
    expect(daemon.getDevice("dev1")).toBe(dev);
    expect(dev.connects).toBe(0);
    expect(daemon.deviceState("dev1")).toMatchObject({
      deviceId: "dev1",
      deviceType: "MockDevice",
      connected: false,
      streaming: false,
    });
  });

  test("unknown type, duplicate id and unknown id throw the contract's errors naming the id", () => {
    expect(() => daemon.addDevice("d", "UnknownDevice")).toThrow(DeviceTypeNotFoundError);
    expect(() => daemon.addDevice("d", "UnknownDevice")).toThrow("Unknown device type: 'UnknownDevice'");
    daemon.addDevice("dev1", "MockDevice");
    expect(() => daemon.addDevice("dev1", "MockDevice")).toThrow(
      new DeviceExistsError("Device with ID 'dev1' already exists."),
    );
    expect(() => daemon.getDevice("unknown")).toThrow(DeviceNotFoundError);
    expect(() => daemon.getDevice("unknown")).toThrow("No device found with ID: 'unknown'");
  });

  test.each([
    ["with space"],
    ["ctl\u0001"],
    [""],
    ["-leading"],
    ["x".repeat(129)],
    ["../etc"],
    ["a/b"],
  ])("invalid device id %p is refused and nothing is registered", (id) => {
    expect(() => daemon.addDevice(id, "MockDevice")).toThrow(InvalidRequestError);
    expect(daemon.listDevices()).toEqual([]);
  });

  test("non-string ids and non-object params are refused", () => {
    expect(() => daemon.addDevice(42 as unknown as string, "MockDevice")).toThrow(InvalidRequestError);
    expect(() => daemon.addDevice("d1", "MockDevice", [] as unknown as Record<string, unknown>)).toThrow(
      InvalidRequestError,
    );
    expect(daemon.listDevices()).toEqual([]);
  });

  test("a throwing constructor leaves no half-registered device", () => {
    class Broken {
      constructor() {
        throw new Error("no such port");
      }
    }
    daemon.registerPlugins({ devices: { Broken } });
    expect(() => daemon.addDevice("b1", "Broken")).toThrow(DeviceCreationError);
    expect(() => daemon.addDevice("b1", "Broken")).toThrow("no such port");
    expect(daemon.hasDevice("b1")).toBe(false);
  });
});

describe("lifecycle", () => {
  test("connectDevice and disconnectDevice call the device once and track state", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    expect(dev.connects).toBe(1);
    expect(daemon.deviceState("dev1").connected).toBe(true);
    await daemon.connectDevice(dev); // by proxy, and idempotent
    expect(dev.connects).toBe(1);
    await daemon.disconnectDevice("dev1");
    expect(dev.disconnects).toBe(1);
    expect(daemon.deviceState("dev1").connected).toBe(false);
  });

  test("a timed-out connect rejects DeviceTimeoutError and has been disconnected by then", async () => {
    const dev = daemon.addDevice<MockDevice>("slow", "SlowConnectingDevice", { connectDelay: 5000 });
    const t0 = performance.now();
    await expect(daemon.connectDevice("slow", { timeoutMs: 50 })).rejects.toThrow(DeviceTimeoutError);
    expect(performance.now() - t0).toBeLessThan(2500); // its 50 ms, not the 5 s connect
    expect(dev.disconnects).toBe(1);
    expect(daemon.deviceState("slow").connected).toBe(false);
  });

  test("connect without timeout rethrows the device's error and records it", async () => {
    const errors: string[] = [];
    daemon.on("error", (e) => errors.push(`${e.scope}:${e.id}:${e.origin}:${e.error.message}`));
    daemon.addDevice("bad", "FailingConnectingDevice");
    await expect(daemon.connectDevice("bad")).rejects.toThrow(
      new DeviceConnectionError("Failed to connect to mock hardware"),
    );
    expect(errors).toEqual(["device:bad:device:Failed to connect to mock hardware"]);
    expect(daemon.deviceState("bad").connected).toBe(false);
  });

  test("lifecycle state is readable at once while the device is busy", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    const long = dev.slow(300);
    // Synchronous, and read while the call runs: it did not wait for it.
    const st = daemon.deviceState("dev1");
    expect(st).toMatchObject({ connected: true, busy: true });
    await long;
  });

  test("removeDevice disconnects first, then forgets the device; its proxy rejects afterwards", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    await daemon.removeDevice("dev1");
    expect(dev.disconnects).toBe(1);
    expect(daemon.hasDevice("dev1")).toBe(false);
    await expect(dev.getValue()).rejects.toThrow(DeviceNotFoundError);
    daemon.addDevice("dev1", "MockDevice"); // the id is free again
  });

  test("removeDevice is refused while a running task uses the device", async () => {
    daemon.addDevice("dev1", "MockDevice");
    const h = daemon.executeTask("t1", "StubbornTask", { device_ids: ["dev1"] });
    await expect(daemon.removeDevice("dev1")).rejects.toThrow(DeviceInUseError);
    expect(daemon.hasDevice("dev1")).toBe(true);
    StubbornTask.release?.();
    await h.wait({ timeoutMs: 1000 });
    await daemon.removeDevice("dev1");
  });

  test("deviceContext adds and connects; leaving the scope disconnects and removes", async () => {
    let inner: { disconnects: number } | undefined;
    {
      await using dev = await daemon.deviceContext<MockDevice>("ctx1", "MockDevice");
      inner = dev;
      expect(daemon.getDevice("ctx1")).toBe(dev);
      expect(dev.connects).toBe(1);
    }
    expect(inner!.disconnects).toBe(1);
    expect(daemon.hasDevice("ctx1")).toBe(false);
  });

  test("deviceContext whose connect fails leaves nothing registered", async () => {
    await expect(daemon.deviceContext("bad", "FailingConnectingDevice")).rejects.toThrow(DeviceConnectionError);
    expect(daemon.hasDevice("bad")).toBe(false);
  });
});

describe("per-device serialisation", () => {
  test("10 concurrent callers x 20 calls of a non-atomic async read-modify-write end at exactly 200", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 20; i++) await dev.increment();
      }),
    );
    expect(dev.counter).toBe(200);
  });

  test("the same calls on the raw instance interleave, so the count above is the queue's doing", async () => {
    daemon.addDevice("dev1", "MockDevice");
    const raw = daemon.getDeviceInstance("dev1") as MockDevice;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 5; i++) await raw.increment();
      }),
    );
    expect(raw.counter).toBeLessThan(50);
  });

  test("calls run in arrival order, async and sync mixed", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    const order: number[] = [];
    await Promise.all([
      dev.slow(20).then(() => order.push(1)),
      dev.setValue(5).then(() => order.push(2)),
      dev.increment().then(() => order.push(3)),
      dev.getValue().then((v: number) => {
        order.push(4);
        expect(v).toBe(5);
      }),
    ]);
    expect(order).toEqual([1, 2, 3, 4]);
  });

  test("a device calling its own methods through this does not deadlock", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    expect(await dev.incrementTwice()).toBe(2);
  });

  test("a per-call timeout answers the caller, but the running method keeps the device until it settles", async () => {
    const log: string[] = [];
    let release!: () => void;
    class Counter {
      count = 0;
      async inc(tag: string) {
        log.push(`start ${tag}`);
        const v = this.count;
        if (tag === "x") await new Promise<void>((r) => (release = r)); // an instrument that hangs
        this.count = v + 1;
        log.push(`end ${tag}`);
        return this.count;
      }
    }
    daemon.registerPlugins({ devices: { Counter } });
    const dev = daemon.addDevice<Counter>("c", "Counter", {}, { callTimeoutMs: 50 });
    const x = dev.inc("x").catch((e) => e);
    const y = dev.inc("y").catch((e) => e); // waits behind x; its own 50 ms run out while waiting, so it never runs
    expect(await x).toBeInstanceOf(DeviceTimeoutError);
    expect(await y).toBeInstanceOf(DeviceTimeoutError);
    expect(daemon.deviceState("c").busy).toBe(true);
    release();
    await until(() => !daemon.deviceState("c").busy, 2000, "the hung call to settle");
    expect(await dev.inc("z")).toBe(2);
    expect(log).toEqual(["start x", "end x", "start z", "end z"]); // never two at once, y never ran
  });

  test("daemon.call reaches public methods only", async () => {
    daemon.addDevice("dev1", "MockDevice");
    expect(await daemon.call("dev1", "addNumbers", [2, 3])).toBe(5);
    for (const [name, err] of [
      ["constructor", MethodNotFoundError],
      ["__proto__", InvalidRequestError],
      ["toString", MethodNotFoundError],
      ["hasOwnProperty", MethodNotFoundError],
      ["_secret", InvalidRequestError],
      ["computed", InvalidRequestError],
      ["connect", InvalidRequestError],
      ["startStreaming", InvalidRequestError],
      ["deviceId", InvalidRequestError],
      ["nope", MethodNotFoundError],
      ["", InvalidRequestError],
    ] as const) {
      await expect(daemon.call("dev1", name, [])).rejects.toBeInstanceOf(err);
    }
  });

  test("a failing call rejects with the device's error and is recorded with the method", async () => {
    const seen: unknown[] = [];
    daemon.on("error", (e) => seen.push([e.id, e.origin, e.error.name, e.context.method]));
    daemon.addDevice("dev1", "MockDevice");
    await expect(daemon.call("dev1", "fail", ["boom"])).rejects.toThrow(RangeError);
    expect(seen).toEqual([["dev1", "device", "RangeError", "fail"]]);
  });

  test("the queue is bounded: calls beyond the limit are refused", async () => {
    const d = new LabDaemon({ queueLimit: 3 });
    d.registerPlugins({ devices: { MockDevice } });
    const dev = d.addDevice<MockDevice>("dev1", "MockDevice");
    const calls = [dev.slow(30), dev.getValue(), dev.getValue(), dev.getValue()];
    await expect(dev.getValue()).rejects.toThrow("limit 3");
    await Promise.all(calls);
    await d.shutdown({ timeoutMs: 100 });
  });
});

describe("streaming", () => {
  test("startStreaming delivers data with sequence numbers; stopStreaming stops the device", async () => {
    const dev = daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 2 });
    const got: { n: number; seq: number }[] = [];
    await daemon.startStreaming("s1", (d, info) =>
      got.push({ n: (d as { sample_number: number }).sample_number, seq: info.sequence }),
    );
    expect(daemon.deviceState("s1").streaming).toBe(true);
    await until(() => got.length >= 3);
    await daemon.stopStreaming("s1");
    expect(dev.isStreaming()).toBe(false);
    expect(daemon.deviceState("s1").streaming).toBe(false);
    expect(got.map((g) => g.seq)).toEqual(got.map((_, i) => i + 1));
    expect(got.map((g) => g.n)).toEqual(got.map((_, i) => i));
  });

  test("one device stream fans out to several subscribers with identical sequences", async () => {
    const raw = daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    const a: number[] = [];
    const b: number[] = [];
    const sa = await daemon.subscribe("s1", (_d, i) => a.push(i.sequence));
    const sb = await daemon.subscribe("s1", (_d, i) => b.push(i.sequence));
    await until(() => b.length >= 5);
    await sa.unsubscribe();
    expect(daemon.deviceState("s1").streaming).toBe(true);
    const bAtLeave = b.length;
    await until(() => b.length > bAtLeave + 2);
    await sb.unsubscribe();
    expect(daemon.deviceState("s1").streaming).toBe(false);
    expect((daemon.getDeviceInstance("s1") as { starts: number }).starts).toBe(1);
    expect(b.slice(0, a.length)).toEqual(a.slice(0, a.length).map((_, i) => b[0]! + i));
    expect(a[0]).toBe(b[0]);
    void raw;
  });

  test("a throwing subscriber is recorded with origin callback and does not stop the others", async () => {
    const errs: string[] = [];
    daemon.on("error", (e) => errs.push(`${e.origin}:${e.error.message}`));
    daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    await daemon.subscribe("s1", () => {
      throw new Error("subscriber bug");
    });
    const good: number[] = [];
    await daemon.subscribe("s1", (_d, i) => good.push(i.sequence));
    await until(() => good.length >= 5);
    expect(errs.length).toBeGreaterThanOrEqual(4);
    expect(errs[0]).toBe("callback:subscriber bug");
    await daemon.stopStreaming("s1");
  });

  test("subscribers leaving never stop a stream that local code started", async () => {
    daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    const local: number[] = [];
    await daemon.startStreaming("s1", (_d, i) => local.push(i.sequence));
    const sub = await daemon.subscribe("s1", () => {});
    await sub.unsubscribe();
    expect(daemon.deviceState("s1").streaming).toBe(true);
    const n = local.length;
    await until(() => local.length > n + 2);
    await daemon.stopStreaming("s1");
  });

  test("stopStreaming ends every subscriber with a reason; stop twice is harmless; restart works", async () => {
    daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    const ends: string[] = [];
    await daemon.subscribe("s1", () => {}, { onEnd: (r) => ends.push(r.type) });
    await daemon.stopStreaming("s1");
    await daemon.stopStreaming("s1");
    expect(ends).toEqual(["StreamStopped"]);
    const second: number[] = [];
    await daemon.startStreaming("s1", (_d, i) => second.push(i.sequence));
    await until(() => second.length >= 2);
    expect(second[0]).toBeGreaterThan(0);
    await daemon.stopStreaming("s1");
  });

  test("stopStreaming waits for a slow stop within its timeout", async () => {
    daemon.addDevice("s1", "SlowStoppingStreamingDevice");
    await daemon.startStreaming("s1", () => {});
    const t0 = performance.now();
    await daemon.stopStreaming("s1", 20_000);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(10_000); // ended with the 300 ms stop, not at the 20 s timeout
    expect((daemon.getDeviceInstance("s1") as { isStreaming(): boolean }).isStreaming()).toBe(false);
  });

  test("two devices stream at once to separate callbacks", async () => {
    daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    daemon.addDevice("s2", "StreamingDevice", { sampleInterval: 1 });
    let a = 0,
      b = 0;
    await daemon.startStreaming("s1", () => a++);
    await daemon.startStreaming(daemon.getDevice("s2"), () => b++);
    await until(() => a > 2 && b > 2);
    await daemon.stopStreaming("s1");
    await daemon.stopStreaming("s2");
  });

  test("streaming a device without startStreaming throws DeviceError", async () => {
    daemon.addDevice("m1", "MockDevice");
    await expect(daemon.startStreaming("m1", () => {})).rejects.toThrow(DeviceError);
    await expect(daemon.startStreaming("m1", () => {})).rejects.toThrow("does not support streaming");
    expect(daemon.deviceState("m1").streaming).toBe(false);
  });

  test("the proxy's lifecycle methods go through the daemon and keep the tracked state right", async () => {
    const dev = daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    await dev.connect();
    expect(daemon.deviceState("s1").connected).toBe(true);
    let n = 0;
    await dev.startStreaming(() => n++);
    expect(dev.isStreaming()).toBe(true);
    await until(() => n > 1);
    await dev.stopStreaming(500);
    expect(daemon.deviceState("s1").streaming).toBe(false);
  });
});

describe("events", () => {
  test("device lifecycle events arrive in order", async () => {
    const kinds: string[] = [];
    daemon.on("device", (e) => kinds.push(`${e.kind}:${e.deviceId}`));
    daemon.addDevice("s1", "StreamingDevice", { sampleInterval: 1 });
    await daemon.connectDevice("s1");
    await daemon.startStreaming("s1", () => {});
    await daemon.stopStreaming("s1");
    await daemon.disconnectDevice("s1");
    await daemon.removeDevice("s1");
    expect(kinds).toEqual([
      "added:s1",
      "connected:s1",
      "streaming_started:s1",
      "streaming_stopped:s1",
      "disconnected:s1",
      "removed:s1",
    ]);
  });

  test("a throwing event listener disturbs neither the daemon nor other listeners", async () => {
    const seen: string[] = [];
    const origError = console.error;
    console.error = () => {};
    try {
      daemon.on("device", () => {
        throw new Error("listener bug");
      });
      daemon.on("device", (e) => seen.push(e.kind));
      daemon.addDevice("d1", "MockDevice");
      await daemon.connectDevice("d1");
    } finally {
      console.error = origError;
    }
    expect(seen).toEqual(["added", "connected"]);
  });
});

describe("a start that never returns", () => {
  test("stop and removal are bounded by their own timeouts; the late start is abandoned, never delivered", async () => {
    let finishStart!: () => void;
    let deliver: ((x: unknown) => void) | null = null;
    let stops = 0;
    class StuckStart {
      startStreaming(cb: (x: unknown) => void) {
        deliver = cb;
        return new Promise<void>((r) => (finishStart = r));
      }
      stopStreaming() {
        stops++;
      }
    }
    daemon.registerPlugins({ devices: { StuckStart } });
    daemon.addDevice("st", "StuckStart");
    const got: unknown[] = [];
    const sub = daemon.subscribe("st", (x) => got.push(x)).catch((e) => e);
    await until(() => deliver !== null, 2000, "the start to be called");
    const t0 = performance.now();
    await daemon.stopStreaming("st", 150);
    // The start never finishes by itself: only the 150 ms bound let stopStreaming return.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    finishStart(); // the device comes up after all: for nobody
    expect(await sub).toBeInstanceOf(DeviceError);
    deliver!(1);
    expect(got).toEqual([]);
    await until(() => stops === 1, 2000, "the abandoned start to be stopped");
    expect(daemon.deviceState("st").streaming).toBe(false);
  });
});

test("calls that timed out behind a hung one no longer count against the queue's bound", async () => {
  const d = new LabDaemon({ queueLimit: 3, callTimeoutMs: 30 });
  let release!: () => void;
  class Hung {
    hold() {
      return new Promise<void>((r) => (release = r));
    }
    quick() {
      return 1;
    }
  }
  d.registerPlugins({ devices: { Hung } });
  const dev = d.addDevice<Hung>("h", "Hung");
  const held = dev.hold().catch((e) => e);
  for (let round = 0; round < 3; round++) {
    const waiting = [dev.quick(), dev.quick(), dev.quick()].map((p) => p.catch((e) => e));
    for (const r of await Promise.all(waiting)) expect(r).toBeInstanceOf(DeviceTimeoutError); // never BusyError
    expect(d.deviceState("h").pending).toBe(0);
  }
  expect(await held).toBeInstanceOf(DeviceTimeoutError);
  release();
  await until(() => !d.deviceState("h").busy, 2000, "the hung call to settle");
  expect(await dev.quick()).toBe(1);
  await d.shutdown({ timeoutMs: 200 });
});

test("a start that timed out but comes up later is stopped, not left streaming for nobody", async () => {
  const d = new LabDaemon();
  let finish!: () => void;
  let stops = 0;
  class LateStart {
    startStreaming() {
      return new Promise<void>((r) => (finish = r));
    }
    stopStreaming() {
      stops++;
    }
  }
  d.registerPlugins({ devices: { LateStart } });
  d.addDevice("ls", "LateStart", {}, { callTimeoutMs: 50 });
  expect(await d.startStreaming("ls", () => {}).catch((e) => e)).toBeInstanceOf(DeviceTimeoutError);
  expect(stops).toBe(0);
  finish();
  await until(() => stops === 1, 2000, "the late start to be stopped");
  expect(d.deviceState("ls").streaming).toBe(false);
  await d.shutdown({ timeoutMs: 200 });
});

describe("a device being removed", () => {
  test("starts no stream: a subscription made while its removal runs is refused, and nothing streams after", async () => {
    const gate = Promise.withResolvers<void>();
    class SlowToClose {
      streaming = false;
      constructor(readonly deviceId: string) {}
      connect() {}
      disconnect() {
        return gate.promise;
      }
      startStreaming() {
        this.streaming = true;
      }
      stopStreaming() {
        this.streaming = false;
      }
    }
    daemon.registerPlugins({ devices: { SlowToClose } });
    daemon.addDevice("s", "SlowToClose");
    const raw = daemon.getDeviceInstance("s") as SlowToClose;
    await daemon.connectDevice("s");
    const removing = daemon.removeDevice("s");
    expect(() => daemon.subscribe("s", () => {})).toThrow("No device found with ID: 's' (it is being removed)");
    expect(() => daemon.startStreaming("s", () => {})).toThrow("(it is being removed)");
    gate.resolve();
    await removing;
    expect(daemon.hasDevice("s")).toBe(false);
    expect(raw.streaming).toBe(false);
  });
});

test("a queued call refused because a lease was taken meanwhile is not recorded as the device's error", async () => {
  const gate = Promise.withResolvers<void>();
  class Held {
    constructor(readonly deviceId: string) {}
    hold() {
      return gate.promise;
    }
    poke() {
      return 1;
    }
  }
  daemon.registerPlugins({ devices: { Held } });
  daemon.addDevice("h", "Held");
  const errors: string[] = [];
  daemon.on("error", (e) => errors.push(`${e.id}: ${e.error.name}`));
  const holding = daemon.call("h", "hold", [], { asClient: true });
  const queued = daemon.call("h", "poke", [], { asClient: true }).catch((e: Error) => e);
  const lease = daemon.leases.acquire("h", 60_000, "alice");
  gate.resolve();
  await holding;
  expect(((await queued) as Error).name).toBe("DeviceLeased");
  expect(errors).toEqual([]);
  daemon.leases.release("h", lease.leaseId);
});
