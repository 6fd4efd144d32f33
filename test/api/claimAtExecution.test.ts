// A task's claim holds at execution time: an operation a client queued before the claim never runs
// against the task's devices afterwards (it is refused with 409 when it reaches the device).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SimLaser, SimPowerMeter, SweepTask } from "../../drivers/index.ts";
import { DeviceNotConnectedError, type TaskContext } from "../../src/index.ts";
import { seededRandom, startTestServer, type TestServer } from "../support/apiServer.ts";
import { delay, until } from "../support/fixtures.ts";

/** Says who touched it last; a task checks nobody else did between its own two calls. */
class Guarded {
  connected = false;
  writer = "";
  constructor(
    readonly deviceId: string,
    readonly params: { settleMs?: number } = {},
  ) {}
  async connect() {
    await delay(this.params.settleMs ?? 0);
    this.connected = true;
  }
  async disconnect() {
    await delay(this.params.settleMs ?? 0);
    this.connected = false;
  }
  isConnected() {
    return this.connected;
  }
  async mark(who: string) {
    await delay(this.params.settleMs ?? 0);
    if (!this.connected) throw new DeviceNotConnectedError(`${this.deviceId} is not connected`);
    this.writer = who;
    return who;
  }
  check(who: string) {
    if (!this.connected) throw new Error(`${this.deviceId} was disconnected under task ${who}`);
    if (this.writer !== who) throw new Error(`${this.deviceId} was written by '${this.writer}' under task ${who}`);
    return true;
  }
}

/** Marks each of its devices and checks the mark held: fails only if someone reached them meanwhile. */
class GuardTask {
  deviceIds: string[];
  constructor(
    readonly taskId: string,
    params: { device_ids: string[] },
  ) {
    this.deviceIds = params.device_ids;
  }
  async run(ctx: TaskContext) {
    // A device a client disconnected (or removed) before the claim is simply not ready: not a disturbance.
    if (!this.deviceIds.every((id) => ctx.daemon.hasDevice(id) && ctx.daemon.deviceState(id).connected))
      return "not_ready";
    const devs = this.deviceIds.map((id) => ctx.daemon.getDevice<Guarded>(id));
    for (let round = 0; round < 3; round++) {
      for (const d of devs) {
        await d.mark(this.taskId);
        await delay(1);
        await d.check(this.taskId);
      }
    }
    for (const id of this.deviceIds) {
      if (!ctx.daemon.deviceState(id).connected) throw new Error(`${id} shows disconnected under task ${this.taskId}`);
    }
    return "ok";
  }
}

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ logLevel: "silent", completedTaskBuffer: 5000 });
  s.daemon.registerPlugins({ devices: { SimLaser, SimPowerMeter, Guarded }, tasks: { SweepTask, GuardTask } });
});
afterAll(async () => {
  await s.close();
});

test("a disconnect queued before a SweepTask claimed the laser is refused with 409 and the sweep completes", async () => {
  expect(
    (await s.req("POST", "/devices", { device_id: "laser3", device_type: "SimLaser", params: { settleMs: 300 } }))
      .status,
  ).toBe(200);
  expect(
    (await s.req("POST", "/devices", { device_id: "pm3", device_type: "SimPowerMeter", params: { source: "laser3" } }))
      .status,
  ).toBe(200);
  for (const id of ["laser3", "pm3"]) expect((await s.req("POST", `/devices/${id}/connect`)).status).toBe(200);

  const call = s.req("POST", "/devices/laser3/call", { method: "setWavelength", args: [1551] });
  await until(() => s.daemon.deviceState("laser3").busy, 5000, "the call to hold the laser");
  const disconnect = s.req("POST", "/devices/laser3/disconnect");
  await until(() => s.daemon.deviceState("laser3").pending === 1, 5000, "the disconnect to queue");
  const task = await s.req("POST", "/tasks", {
    task_id: "t1",
    task_type: "SweepTask",
    params: { laser_id: "laser3", meter_id: "pm3", steps: 3 },
  });
  expect(task.status).toBe(200);

  expect((await call).status).toBe(200);
  const refused = await disconnect;
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ type: "DeviceInUse", context: { device_id: "laser3", task_id: "t1" } });
  await s.daemon.getTask("t1").wait({ timeoutMs: 20_000 });
  const detail = await s.req("GET", "/tasks/t1");
  expect(detail.body.status).toBe("completed");
  expect(detail.body.result.wavelengths).toHaveLength(3);
  expect(s.daemon.deviceState("laser3").connected).toBe(true);
});

test("a connect and a call queued before the claim are refused too; GETs still answer", async () => {
  await s.req("POST", "/devices", { device_id: "g1", device_type: "Guarded", params: { settleMs: 200 } });
  const connect = s.req("POST", "/devices/g1/connect");
  await until(() => s.daemon.deviceState("g1").busy, 5000, "the connect to hold the device");
  const call = s.req("POST", "/devices/g1/call", { method: "mark", args: ["client"] });
  await until(() => s.daemon.deviceState("g1").pending === 1, 5000, "the call to queue");
  expect(
    (await s.req("POST", "/tasks", { task_id: "g1-task", task_type: "GuardTask", params: { device_ids: ["g1"] } }))
      .status,
  ).toBe(200);
  expect((await connect).status).toBe(200); // already running when the task claimed the device: it finishes first
  const refused = await call;
  expect(refused.status).toBe(409);
  expect(refused.body.error.context).toMatchObject({ device_id: "g1", task_id: "g1-task" });
  expect(await s.daemon.getTask("g1-task").wait({ timeoutMs: 10_000 })).toBe("ok");
  // The refusal is the framework's: it is not stored as the device's error.
  expect((await s.req("GET", "/devices/g1/error")).status).toBe(404);
});

test("random interleavings of call, connect, disconnect, DELETE and task starts never disturb a task", async () => {
  const rand = seededRandom(20261204);
  const ids = ["p0", "p1", "p2"];
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const statuses = new Map<number, number>();
  const started: string[] = [];
  let taskNo = 0;
  for (let round = 0; round < 40; round++) {
    for (const id of ids) {
      if (!s.daemon.hasDevice(id))
        await s.req("POST", "/devices", { device_id: id, device_type: "Guarded", params: { settleMs: 2 } });
      if (rand() < 0.8) await s.req("POST", `/devices/${id}/connect`);
    }
    const ops: Promise<void>[] = [];
    for (let k = 0; k < 10; k++) {
      const id = pick(ids);
      const kind = pick(["call", "call", "connect", "disconnect", "delete", "task", "task"]);
      const op = async () => {
        let r;
        if (kind === "task") {
          const taskId = `r${taskNo++}`;
          const devs = ids.filter(() => rand() < 0.5);
          r = await s.req("POST", "/tasks", {
            task_id: taskId,
            task_type: "GuardTask",
            params: { device_ids: devs.length ? devs : [id] },
          });
          if (r.status === 200) started.push(taskId);
        } else if (kind === "call")
          r = await s.req("POST", `/devices/${id}/call`, { method: "mark", args: ["client"] });
        else if (kind === "delete") r = await s.req("DELETE", `/devices/${id}`);
        else r = await s.req("POST", `/devices/${id}/${kind}`);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      };
      // Staggered by a macrotask or two, so operations land while others are queued or running.
      ops.push(delay(Math.floor(rand() * 4)).then(op));
    }
    await Promise.all(ops);
    await Promise.all(started.map((t) => s.daemon.getTask(t).settled));
  }
  const outcomes = started.map((t) => {
    const h = s.daemon.getTask(t);
    return { task: t, status: h.status, result: h.result, error: h.exception()?.message };
  });
  expect(outcomes.filter((o) => o.status !== "completed")).toEqual([]);
  expect(outcomes.filter((o) => o.result === "ok").length).toBeGreaterThan(20);
  // Every answer is a success or the framework's refusal (409 owned, 404 removed), never a 5xx.
  expect([...statuses.keys()].every((st) => [200, 400, 404, 409].includes(st))).toBe(true);
  expect(statuses.get(409)).toBeGreaterThan(0);
}, 60_000);

test("DELETE of a device a task owns is 409, and the task keeps it", async () => {
  await s.req("POST", "/devices", { device_id: "d1", device_type: "Guarded", params: { settleMs: 20 } });
  await s.req("POST", "/devices/d1/connect");
  expect(
    (await s.req("POST", "/tasks", { task_id: "d1-task", task_type: "GuardTask", params: { device_ids: ["d1"] } }))
      .status,
  ).toBe(200);
  const r = await s.req("DELETE", "/devices/d1");
  expect(r.status).toBe(409);
  expect(r.body.error.context).toMatchObject({ device_id: "d1", task_id: "d1-task" });
  expect(await s.daemon.getTask("d1-task").wait({ timeoutMs: 10_000 })).toBe("ok");
  expect((await s.req("DELETE", "/devices/d1")).status).toBe(200);
});
