// Regression tests for defects of the original Python LabDaemon that this port gets right (devices without
// isConnected, results plain JSON cannot hold, tasks constructed twice …): each fails if the defect comes back.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import type { TaskContext, TaskEventKind } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { until } from "../support/fixtures.ts";
import { RawStream } from "./sseSupport.ts";

let s: TestServer;
const streams: RawStream[] = [];
beforeEach(async () => {
  s = await startTestServer({ sse: { resumeGraceMs: 0, keepAliveMs: 60_000 } });
});
afterEach(async () => {
  for (const r of streams.splice(0)) r.close();
  await s.close();
});

/** Resolves at the task's next event of one of `kinds`; subscribe before starting the task. */
function taskEvent(taskId: string, ...kinds: TaskEventKind[]): Promise<TaskEventKind> {
  return new Promise((resolve) => {
    const off = s.daemon.on("task", (e) => {
      if (e.taskId === taskId && kinds.includes(e.kind)) {
        off();
        resolve(e.kind);
      }
    });
  });
}

/** POST /tasks and wait until the task has ended (the event fires before any eviction). */
async function runToEnd(
  taskId: string,
  taskType: string,
  params: Record<string, unknown> = {},
): Promise<TaskEventKind> {
  const ended = taskEvent(taskId, "completed", "failed", "cancelled");
  const r = await s.req("POST", "/tasks", { task_id: taskId, task_type: taskType, params });
  expect(r.status).toBe(200);
  return ended;
}

async function addDevice(id: string, type: string, connect = false) {
  expect((await s.req("POST", "/devices", { device_id: id, device_type: type })).status).toBe(200);
  if (connect) expect((await s.req("POST", `/devices/${id}/connect`)).status).toBe(200);
}

/** A streaming device with start/stop only: whether it streams is known to the daemon alone. */
class NoIsStreamingDevice {
  static instances: NoIsStreamingDevice[] = [];
  cb: ((d: unknown) => void) | null = null;
  starts = 0;
  stops = 0;
  constructor(readonly deviceId: string) {
    NoIsStreamingDevice.instances.push(this);
  }
  connect() {}
  disconnect() {}
  isConnected() {
    return true;
  }
  startStreaming(cb: (d: unknown) => void) {
    this.starts++;
    this.cb = cb;
  }
  stopStreaming() {
    this.stops++;
    this.cb = null;
  }
}

describe("SSE cleanup of a device without isStreaming", () => {
  test("a device without isStreaming is stopped when its last SSE client leaves", async () => {
    s.daemon.registerPlugins({ devices: { NoIsStreamingDevice } });
    await addDevice("ns", "NoIsStreamingDevice", true);
    const dev = s.daemon.getDeviceInstance("ns") as NoIsStreamingDevice;
    const a = await RawStream.open(`${s.url}/stream/devices/ns`);
    const b = await RawStream.open(`${s.url}/stream/devices/ns`);
    streams.push(a, b);
    expect(a.status).toBe(200);
    const clients = () => s.server.sse.stats("ns")?.subscribers ?? 0;
    await until(() => clients() === 2 && s.daemon.deviceState("ns").streaming, 2000, "two SSE clients");
    expect(dev.starts).toBe(1);
    dev.cb!({ v: 1 });
    await a.until(() => a.data.length === 1);
    await b.until(() => b.data.length === 1);
    expect(a.data[0].payload).toEqual({ v: 1 });
    a.close();
    await until(() => clients() === 1, 2000, "one SSE client left");
    expect(dev.stops).toBe(0);
    b.close();
    await until(() => dev.stops === 1, 2000, "stopStreaming after the last client left");
    expect(dev.cb).toBeNull();
    expect((await s.req("GET", "/devices/ns")).body.streaming).toBe(false);
    expect(dev.starts).toBe(1);
  });
});

describe("task results plain JSON cannot hold", () => {
  const odd = () => ({
    nan: NaN,
    inf: Infinity,
    ninf: -Infinity,
    floats: new Float64Array([1.5, NaN, -Infinity]),
    small: 42n,
    edge: 2n ** 53n - 1n,
    negEdge: -(2n ** 53n - 1n),
    beyond: 2n ** 53n,
    negBeyond: -(2n ** 60n),
    map: new Map<string, unknown>([
      ["x", 1],
      ["y", NaN],
    ]),
  });
  const expected = {
    nan: null,
    inf: null,
    ninf: null,
    floats: [1.5, null, null],
    small: 42,
    edge: 9007199254740991,
    negEdge: -9007199254740991,
    beyond: "9007199254740992",
    negBeyond: "-1152921504606846976",
    map: { x: 1, y: null },
  };

  test("GET /tasks/{id} answers 200 JSON for NaN, ±Infinity, typed arrays, bigints and Maps", async () => {
    s.daemon.registerPlugins({
      tasks: {
        OddTask: class {
          run() {
            return odd();
          }
        },
      },
    });
    expect(await runToEnd("odd", "OddTask")).toBe("completed");
    const r = await s.req("GET", "/tasks/odd");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.body.result).toEqual(expected);
  });

  test('a cycle in the result becomes "[Circular]" and the rest is still written', async () => {
    s.daemon.registerPlugins({
      tasks: {
        CyclicTask: class {
          run() {
            const o: Record<string, unknown> = { a: 1, ...odd() };
            o.self = o;
            return o;
          }
        },
      },
    });
    expect(await runToEnd("cyc", "CyclicTask")).toBe("completed");
    const r = await s.req("GET", "/tasks/cyc");
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ a: 1, ...expected, self: "[Circular]" });
  });
});

describe("POST /tasks constructs the task once", () => {
  class CountedTask {
    static constructed = 0;
    static ids: string[] = [];
    deviceIds: string[];
    constructor(
      readonly taskId: string,
      params: { device_ids?: string[] } = {},
    ) {
      CountedTask.constructed++;
      CountedTask.ids.push(taskId);
      this.deviceIds = params.device_ids ?? [];
    }
    async run() {
      return CountedTask.constructed;
    }
  }
  beforeEach(() => {
    CountedTask.constructed = 0;
    CountedTask.ids = [];
    s.daemon.registerPlugins({ tasks: { CountedTask } });
  });

  test("a task without devices is constructed exactly once", async () => {
    expect(await runToEnd("c1", "CountedTask")).toBe("completed");
    expect(CountedTask.constructed).toBe(1);
    expect((await s.req("GET", "/tasks/c1")).body.result).toBe(1);
  });

  test("a task with deviceIds is constructed exactly once, and the claimed ids are the reported ones", async () => {
    await addDevice("dev1", "MockDevice", true);
    const ended = taskEvent("c2", "completed", "failed");
    const r = await s.req("POST", "/tasks", {
      task_id: "c2",
      task_type: "CountedTask",
      params: { device_ids: ["dev1"] },
    });
    expect(r.status).toBe(200);
    expect(r.body.device_ids).toEqual(["dev1"]);
    expect(await ended).toBe("completed");
    expect(CountedTask.constructed).toBe(1);
    expect(CountedTask.ids).toEqual(["c2"]);
    expect((await s.req("GET", "/tasks/c2")).body).toMatchObject({ result: 1, device_ids: ["dev1"] });
  });
});

describe("devices without isConnected", () => {
  class NoIsConnected {
    connects = 0;
    constructor(readonly deviceId: string) {}
    connect() {
      this.connects++;
    }
    disconnect() {}
    hello() {
      return "hi";
    }
  }

  test("report connected:false everywhere until POST /connect calls connect() once", async () => {
    s.daemon.registerPlugins({ devices: { NoIsConnected } });
    const added = await s.req("POST", "/devices", { device_id: "nc", device_type: "NoIsConnected" });
    expect(added.status).toBe(200);
    expect(added.body.connected).toBe(false);
    const states = async () => [
      (await s.req("GET", "/devices")).body.devices.find((d: { device_id: string }) => d.device_id === "nc").connected,
      (await s.req("GET", "/devices/nc")).body.connected,
    ];
    expect(await states()).toEqual([false, false]);
    const dev = s.daemon.getDeviceInstance("nc") as NoIsConnected;
    expect(dev.connects).toBe(0);
    const c = await s.req("POST", "/devices/nc/connect");
    expect(c.status).toBe(200);
    expect(c.body.connected).toBe(true);
    expect(c.body.message).toBeUndefined();
    expect(dev.connects).toBe(1);
    expect(await states()).toEqual([true, true]);
  });
});

describe("isConnected as a data property", () => {
  test("list, detail, methods, connect and call all answer 200", async () => {
    class DataPropDevice {
      isConnected = true;
      connects = 0;
      constructor(readonly deviceId: string) {}
      connect() {
        this.connects++;
      }
      disconnect() {}
      getValue() {
        return 7;
      }
    }
    s.daemon.registerPlugins({ devices: { DataPropDevice } });
    expect((await s.req("POST", "/devices", { device_id: "dp", device_type: "DataPropDevice" })).status).toBe(200);
    const list = await s.req("GET", "/devices");
    expect(list.status).toBe(200);
    expect(typeof list.body.devices[0].connected).toBe("boolean");
    const detail = await s.req("GET", "/devices/dp");
    expect(detail.status).toBe(200);
    expect(typeof detail.body.connected).toBe("boolean");
    const methods = await s.req("GET", "/devices/dp/methods");
    expect(methods.status).toBe(200);
    const connect = await s.req("POST", "/devices/dp/connect");
    expect(connect.status).toBe(200);
    expect(connect.body.connected).toBe(true);
    expect((await s.req("GET", "/devices/dp")).body.connected).toBe(true);
    expect((await s.req("POST", "/devices/dp/call", { method: "getValue" })).body.result).toBe(7);
  });
});

describe("stored task errors", () => {
  const errorStatus = async (id: string) => (await s.req("GET", `/tasks/${id}/error`)).status;

  test("with completedTaskBuffer 0 the last task error is still kept", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 0 });
    expect(await runToEnd("only", "FailingTask", { message: "kept" })).toBe("failed");
    expect((await s.req("GET", "/tasks/only")).status).toBe(404); // the task itself is evicted at once
    const e = await s.req("GET", "/tasks/only/error");
    expect(e.status).toBe(200);
    expect(e.body.error).toMatchObject({ type: "RangeError", message: "kept" });
    expect(await runToEnd("next", "FailingTask")).toBe("failed");
    expect([await errorStatus("only"), await errorStatus("next")]).toEqual([404, 200]);
  });

  test("with buffer 2, failures A, B, A again, C keep exactly A and C (a re-run counts as newest)", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 2 });
    for (const id of ["A", "B", "A", "C"]) expect(await runToEnd(id, "FailingTask", { message: id })).toBe("failed");
    expect({ A: await errorStatus("A"), B: await errorStatus("B"), C: await errorStatus("C") }).toEqual({
      A: 200,
      B: 404,
      C: 200,
    });
  });
});

describe("the version the server reports", () => {
  test("GET / and /openapi.json report package.json's version", async () => {
    const root = await s.req("GET", "/");
    expect(root.status).toBe(200);
    expect(root.body.version).toBe(pkg.version);
    const api = await s.req("GET", "/openapi.json");
    expect(api.status).toBe(200);
    expect(api.body.info.version).toBe(pkg.version);
  });
});

describe("params named like reserved arguments", () => {
  test("task_id, task_type, taskId and _server_cleanup_func in params are plain params", async () => {
    const seen: { taskId: string; params: unknown; ctxId: string }[] = [];
    class EchoTask {
      constructor(
        readonly taskId: string,
        readonly params: Record<string, unknown>,
      ) {}
      run(ctx: TaskContext) {
        seen.push({ taskId: this.taskId, params: this.params, ctxId: ctx.taskId });
        return this.taskId;
      }
    }
    s.daemon.registerPlugins({ tasks: { EchoTask } });
    const params = { task_id: "fake", task_type: "X", taskId: "y", _server_cleanup_func: 1 };
    const ended = taskEvent("real", "completed", "failed");
    const r = await s.req("POST", "/tasks", { task_id: "real", task_type: "EchoTask", params });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ task_id: "real", task_type: "EchoTask", status: "started" });
    expect(await ended).toBe("completed");
    expect(seen).toEqual([{ taskId: "real", params, ctxId: "real" }]);
    expect((await s.req("GET", "/tasks/real")).body).toMatchObject({
      task_id: "real",
      task_type: "EchoTask",
      result: "real",
    });
    for (const id of ["fake", "y"]) expect((await s.req("GET", `/tasks/${id}`)).status).toBe(404);
  });
});

describe("behaviours the Python LabDaemon documents", () => {
  test("daemon 41: a coordinator whose middle child fails still completes with that child's error entry", async () => {
    class FailsIfMiddle {
      constructor(readonly taskId: string) {}
      async run() {
        await Promise.resolve();
        if (this.taskId.endsWith("_child_1")) throw new RangeError("middle child broke");
        return { status: "complete", task_id: this.taskId };
      }
    }
    s.daemon.registerPlugins({ tasks: { FailsIfMiddle } });
    expect(await runToEnd("co", "CoordinatorTask", { children: 3, childType: "FailsIfMiddle" })).toBe("completed");
    const co = await s.req("GET", "/tasks/co");
    expect(co.body.status).toBe("completed");
    expect(co.body.result).toEqual([
      { status: "complete", task_id: "co_child_0" },
      { error: "TaskFailedError", child_index: 1 },
      { status: "complete", task_id: "co_child_2" },
    ]);
    expect((await s.req("GET", "/tasks/co_child_1")).body.status).toBe("failed");
    expect((await s.req("GET", "/tasks/co_child_1/error")).body.error).toMatchObject({
      type: "RangeError",
      message: "middle child broke",
    });
    expect((await s.req("GET", "/tasks/co_child_0/error")).status).toBe(404);
  });

  /** Spawns one long child per opening of `open` (or per cancel); checks for cancellation between spawns if `cooperative`. */
  class Spawner {
    static open: (() => void) | null = null;
    static spawned: string[] = [];
    children: number;
    cooperative: boolean;
    constructor(
      readonly taskId: string,
      p: { children?: number; cooperative?: boolean } = {},
    ) {
      this.children = p.children ?? 5;
      this.cooperative = p.cooperative ?? true;
    }
    async run(ctx: TaskContext) {
      for (let i = 0; i < this.children; i++) {
        if (this.cooperative) await ctx.checkpoint();
        const id = `${this.taskId}_child_${i}`;
        ctx.executeTask(id, "MockTask", { delay: 60_000 });
        Spawner.spawned.push(id);
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) return resolve();
          Spawner.open = resolve;
          ctx.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      }
    }
  }

  test("daemon 45: cancelling a coordinator mid-spawn cancels the spawned children and spawns no more", async () => {
    Spawner.spawned = [];
    s.daemon.registerPlugins({ tasks: { Spawner } });
    const ended = taskEvent("sp", "completed", "failed", "cancelled");
    expect(
      (await s.req("POST", "/tasks", { task_id: "sp", task_type: "Spawner", params: { children: 5 } })).status,
    ).toBe(200);
    await until(() => Spawner.spawned.length === 1, 2000, "first child");
    Spawner.open!();
    await until(() => Spawner.spawned.length === 2, 2000, "second child");
    const c = await s.req("POST", "/tasks/sp/cancel");
    expect(c.body.status).toBe("cancellation_requested");
    expect(await ended).toBe("cancelled");
    expect(Spawner.spawned).toEqual(["sp_child_0", "sp_child_1"]);
    for (const id of Spawner.spawned) {
      await s.daemon.getTask(id).settled;
      expect((await s.req("GET", `/tasks/${id}`)).body.status).toBe("cancelled");
    }
    expect((await s.req("GET", "/tasks/sp")).body.status).toBe("cancelled");
    expect((await s.req("GET", "/tasks/sp_child_2")).status).toBe(404);
  });

  test("daemon 45: a child started by a coordinator that ignores its cancel is cancelled at once", async () => {
    Spawner.spawned = [];
    s.daemon.registerPlugins({ tasks: { Spawner } });
    const ended = taskEvent("deaf", "completed", "failed", "cancelled");
    await s.req("POST", "/tasks", {
      task_id: "deaf",
      task_type: "Spawner",
      params: { children: 4, cooperative: false },
    });
    await until(() => Spawner.spawned.length === 1, 2000, "first child");
    await s.req("POST", "/tasks/deaf/cancel");
    expect(await ended).toBe("cancelled");
    expect(Spawner.spawned).toEqual(["deaf_child_0", "deaf_child_1", "deaf_child_2", "deaf_child_3"]);
    for (const id of Spawner.spawned) {
      await s.daemon.getTask(id).settled;
      expect(s.daemon.getTask(id).status).toBe("cancelled");
    }
  });

  test("daemon 50: with completedTaskBuffer 2 the oldest finished task is evicted (GET /tasks/{id} 404)", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 2 });
    for (const id of ["task1", "task2", "task3"])
      expect(await runToEnd(id, "MockTask", { delay: 1 })).toBe("completed");
    const t1 = await s.req("GET", "/tasks/task1");
    expect(t1.status).toBe(404);
    expect(t1.body.error.type).toBe("TaskNotFound");
    for (const id of ["task2", "task3"]) expect((await s.req("GET", `/tasks/${id}`)).body.status).toBe("completed");
    expect((await s.req("GET", "/tasks")).body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([
      "task2",
      "task3",
    ]);
  });

  test("server 14: a second device error overwrites the first in GET /devices/{id}/error", async () => {
    await addDevice("odd", "OddResultsDevice", true);
    expect((await s.req("POST", "/devices/odd/call", { method: "fail", args: ["First error"] })).status).toBe(400);
    const first = await s.req("GET", "/devices/odd/error");
    expect(first.body.error).toMatchObject({ type: "RangeError", message: "First error", origin: "device" });
    expect((await s.req("POST", "/devices/odd/call", { method: "internal" })).status).toBe(500);
    const second = await s.req("GET", "/devices/odd/error");
    expect(second.status).toBe(200);
    expect(second.body.error).toMatchObject({ type: "Error", message: "disk on fire", origin: "device" });
    expect(second.body.error.context.method).toBe("internal");
  });
});
