// Task routes and device ownership over a real loopback socket.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";
import { StubbornTask, type SteppedTask, until } from "../support/fixtures.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
  for (const id of ["test_device", "dev2"]) {
    await s.req("POST", "/devices", { device_id: id, device_type: "StreamingDevice" });
    await s.req("POST", `/devices/${id}/connect`);
  }
});
afterEach(async () => {
  StubbornTask.release?.();
  await s.close();
});

const settled = (id: string) => s.daemon.getTask(id).settled;

describe("POST /tasks", () => {
  test("starts a task, claims its devices while it runs and releases them when it ends", async () => {
    const r = await s.req("POST", "/tasks", {
      task_id: "task1",
      task_type: "ExclusiveTask",
      params: { device_ids: ["test_device"], ms: 300 },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      task_id: "task1",
      task_type: "ExclusiveTask",
      device_ids: ["test_device"],
      status: "started",
    });
    expect((await s.req("GET", "/devices/test_device")).body.owned_by).toBe("task1");
    expect((await s.req("GET", "/devices/dev2")).body.owned_by).toBeNull();
    const second = await s.req("POST", "/tasks", {
      task_id: "task2",
      task_type: "ExclusiveTask",
      params: { device_ids: ["dev2", "test_device"] },
    });
    expect(second.status).toBe(409);
    expect(second.body.error.type).toBe("DeviceInUse");
    expect(second.body.error.message).toContain("already owned");
    expect(second.body.error.context.conflicts).toEqual([{ device_id: "test_device", task_id: "task1" }]);
    expect((await s.req("GET", "/devices/dev2")).body.owned_by).toBeNull();
    expect(s.daemon.hasTask("task2")).toBe(false);
    await settled("task1");
    await until(() => s.server.ownership.size === 0, 1000, "release");
    expect((await s.req("GET", "/devices/test_device")).body.owned_by).toBeNull();
    expect(
      (
        await s.req("POST", "/tasks", {
          task_id: "task2",
          task_type: "ExclusiveTask",
          params: { device_ids: ["test_device"] },
        })
      ).status,
    ).toBe(200);
  });

  test("commands on an owned device are 409 DeviceInUse naming the owner; reads are allowed", async () => {
    await s.req("POST", "/tasks", {
      task_id: "owner_task",
      task_type: "StubbornTask",
      params: { device_ids: ["test_device"] },
    });
    const call = await s.req("POST", "/devices/test_device/call", { method: "setValue", args: [42] });
    expect(call.status).toBe(409);
    expect(call.body.error).toMatchObject({
      type: "DeviceInUse",
      context: { device_id: "test_device", task_id: "owner_task" },
    });
    expect(call.body.error.message).toContain("is owned by task");
    for (const [method, path] of [
      ["POST", "/connect"],
      ["POST", "/disconnect"],
      ["POST", "/stream/stop"],
      ["DELETE", ""],
    ] as const) {
      const r = await s.req(method, `/devices/test_device${path}`);
      expect({ path, status: r.status }).toEqual({ path, status: 409 });
      expect(r.body.error.context.task_id).toBe("owner_task");
    }
    expect((await s.req("POST", "/devices/test_device/disconnect")).body.error.message).toContain(
      "cannot be disconnected",
    );
    for (const path of ["/devices", "/devices/test_device", "/devices/test_device/methods"]) {
      expect((await s.req("GET", path)).status).toBe(200);
    }
    expect((await s.req("POST", "/devices/dev2/call", { method: "getValue" })).status).toBe(200);
    expect(s.daemon.deviceState("test_device").connected).toBe(true);
    StubbornTask.release!();
    await settled("owner_task");
    const after = await s.req("POST", "/devices/test_device/call", { method: "setValue", args: [42] });
    expect(after.status).toBe(200);
    expect(after.body.error).toBeUndefined();
  });

  test("a task started in-process also makes its devices answer 409 to HTTP commands while it runs", async () => {
    const h = s.daemon.executeTask("local", "ExclusiveTask", { device_ids: ["dev2"], ms: 5000 });
    const r = await s.req("POST", "/devices/dev2/call", { method: "getValue" });
    expect(r.status).toBe(409);
    expect(r.body.error.context).toEqual({ device_id: "dev2", task_id: "local" });
    expect((await s.req("GET", "/devices/dev2")).body.owned_by).toBe("local");
    const clash = await s.req("POST", "/tasks", {
      task_id: "remote",
      task_type: "ExclusiveTask",
      params: { device_ids: ["dev2"] },
    });
    expect(clash.status).toBe(409);
    h.cancel();
    await h.settled;
    await until(() => s.server.ownership.size === 0, 1000, "release");
    expect((await s.req("POST", "/devices/dev2/call", { method: "getValue" })).status).toBe(200);
  });

  test("bad POST /tasks bodies get the messages Python LabDaemon clients match on (docs/COMPAT.md)", async () => {
    const bad = async (body: unknown) => await s.req("POST", "/tasks", body);
    expect((await bad({ task_type: "MockTask" })).body.error.message).toContain("task_id is required");
    expect((await bad({ task_id: "t" })).body.error.message).toContain("task_type is required");
    const params = await bad({ task_id: "t", task_type: "MockTask", params: "not a dict" });
    expect(params.status).toBe(400);
    expect(params.body.error.message).toContain("params must be a dict");
    const unknown = await bad({ task_id: "t", task_type: "UnknownTask" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("Unknown task type");
    const str = await bad({ task_id: "t", task_type: "BadDeviceIdsTask", params: { ids: "dev1" } });
    expect(str.status).toBe(400);
    expect(str.body.error.type).toBe("InvalidTaskDefinition");
    expect(str.body.error.message).toContain("device_ids must be a list");
    const num = await bad({ task_id: "t", task_type: "BadDeviceIdsTask", params: { ids: [123] } });
    expect(num.status).toBe(400);
    expect(num.body.error.message).toContain("must contain only strings");
    const missing = await bad({ task_id: "t", task_type: "ExclusiveTask", params: { device_ids: ["ghost"] } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe("DeviceNotFound");
    const ctor = await bad({ task_id: "failing_task", task_type: "ThrowingConstructorTask" });
    expect(ctor.status).toBe(400);
    expect(ctor.body.error.type).toBe("TaskInstantiationError");
    expect(ctor.body.error.message).toContain("Failed to instantiate task");
    expect(ctor.body.error.message).toContain("Task init failed");
    for (const r of [params, unknown, str, num, missing, ctor]) expect(isEnvelope(r.body)).toBe(true);
    const stored = await s.req("GET", "/tasks/failing_task/error");
    expect(stored.status).toBe(200);
    expect(stored.body.error).toMatchObject({ type: "RangeError", message: "Task init failed", origin: "framework" });
    expect((await s.req("DELETE", "/tasks/failing_task/error")).status).toBe(204);
    expect((await s.req("GET", "/tasks/failing_task/error")).status).toBe(404);
    expect(s.server.ownership.size).toBe(0);
    expect(s.daemon.listTasks()).toHaveLength(0);
  });

  test("a running task id is 409 TaskExists; a finished one can be reused", async () => {
    await s.req("POST", "/tasks", { task_id: "t1", task_type: "SteppedTask", params: { steps: 1000, stepMs: 5 } });
    const dup = await s.req("POST", "/tasks", { task_id: "t1", task_type: "MockTask" });
    expect(dup.status).toBe(409);
    expect(dup.body.error.type).toBe("TaskExists");
    await s.req("POST", "/tasks/t1/cancel");
    await settled("t1");
    expect((await s.req("POST", "/tasks", { task_id: "t1", task_type: "MockTask" })).status).toBe(200);
  });

  test("a failing task releases its devices and stores its error with the real stack", async () => {
    s.daemon.registerPlugins({
      tasks: {
        Doomed: class {
          deviceIds = ["dev2"];
          async run() {
            await Promise.resolve();
            throw new TypeError("bad step");
          }
        },
      },
    });
    expect((await s.req("POST", "/tasks", { task_id: "d1", task_type: "Doomed" })).status).toBe(200);
    await settled("d1");
    await until(() => s.server.ownership.size === 0, 1000, "release");
    const detail = await s.req("GET", "/tasks/d1");
    expect(detail.body).toMatchObject({
      task_id: "d1",
      running: false,
      status: "failed",
      result: null,
      device_ids: ["dev2"],
    });
    expect(detail.body.exception.error).toMatchObject({
      type: "TypeError",
      message: "bad step",
      origin: "framework",
      context: { task_id: "d1" },
    });
    const e = await s.req("GET", "/tasks/d1/error");
    expect(e.body.error).toMatchObject({
      type: "TypeError",
      message: "bad step",
      origin: "framework",
      context: { task_id: "d1" },
    });
    expect(e.body.error.traceback).toContain("TypeError: bad step");
  });
});

describe("task inspection and control", () => {
  test("GET /tasks and GET /tasks/{id} show status, progress, result and times", async () => {
    await s.req("POST", "/tasks", { task_id: "quick", task_type: "MockTask", params: { delay: 1 } });
    await settled("quick");
    const list = await s.req("GET", "/tasks");
    expect(list.body.tasks).toEqual([{ task_id: "quick", task_type: "MockTask", running: false, status: "completed" }]);
    const d = await s.req("GET", "/tasks/quick");
    expect(d.body).toMatchObject({
      task_id: "quick",
      task_type: "MockTask",
      running: false,
      status: "completed",
      result: { status: "complete", task_id: "quick" },
      exception: null,
      progress: { fraction: 1 },
      device_ids: [],
    });
    expect(d.body.started_at).toMatch(/\+00:00$/);
    expect(d.body.finished_at).toMatch(/\+00:00$/);
    const missing = await s.req("GET", "/tasks/nope");
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe("TaskNotFound");
  });

  test("pause, resume, set and read parameters, then cancel keeps the partial result", async () => {
    await s.req("POST", "/tasks", { task_id: "st", task_type: "SteppedTask", params: { steps: 10_000, stepMs: 2 } });
    await until(() => (s.daemon.getTask("st").task as SteppedTask).stepsCompleted > 2, 2000, "steps");
    const p = await s.req("POST", "/tasks/st/pause");
    expect(p.body).toEqual({ status: "paused", task_id: "st", task_status: "paused" });
    expect((await s.req("GET", "/tasks/st")).body.status).toBe("paused");
    const set = await s.req("POST", "/tasks/st/parameters", { key: "value", value: 7 });
    expect(set.body).toEqual({ status: "parameter_set", key: "value", value: 7 });
    expect((await s.req("GET", "/tasks/st/parameters/value")).body).toEqual({ task_id: "st", key: "value", value: 7 });
    const badKey = await s.req("POST", "/tasks/st/parameters", { key: "nope", value: 1 });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.type).toBe("TaskParameterError");
    expect((await s.req("GET", "/tasks/st/parameters/nope")).status).toBe(400);
    expect((await s.req("POST", "/tasks/st/parameters", { key: "value" })).body.error.message).toBe(
      "'value' is required in request body",
    );
    expect((await s.req("POST", "/tasks/st/parameters", { value: 1 })).body.error.message).toBe(
      "'key' is required in request body",
    );
    const r = await s.req("POST", "/tasks/st/resume");
    expect(r.body).toEqual({ status: "resumed", task_id: "st", task_status: "running" });
    const c = await s.req("POST", "/tasks/st/cancel");
    expect(c.body.status).toBe("cancellation_requested");
    await settled("st");
    const d = await s.req("GET", "/tasks/st");
    expect(d.body.status).toBe("cancelled");
    expect(d.body.result.final_value).toBe(7);
    expect((await s.req("POST", "/tasks/st/cancel")).body).toEqual({
      status: "not_running",
      task_id: "st",
      task_status: "cancelled",
    });
    for (const path of ["/pause", "/resume"]) {
      const late = await s.req("POST", `/tasks/st${path}`);
      expect(late.status).toBe(409);
      expect(late.body.error.type).toBe("TaskNotRunning");
    }
    expect((await s.req("POST", "/tasks/st/parameters", { key: "value", value: 1 })).status).toBe(409);
    for (const path of ["/cancel", "/pause", "/resume"])
      expect((await s.req("POST", `/tasks/nope${path}`)).status).toBe(404);
    expect((await s.req("POST", "/tasks/nope/parameters", { key: "a", value: 1 })).status).toBe(404);
    expect((await s.req("GET", "/tasks/nope/parameters/a")).status).toBe(404);
  });

  test("a task whose setParameter/getParameter never settles answers 504 within parameterTimeoutMs", async () => {
    await s.close();
    s = await startTestServer({ parameterTimeoutMs: 100 });
    let release!: () => void;
    const never = new Promise<void>((r) => (release = r));
    class HangingParameters {
      constructor(readonly taskId: string) {}
      async run() {
        await never;
      }
      setParameter() {
        return never;
      }
      getParameter() {
        return never;
      }
    }
    s.daemon.registerPlugins({ tasks: { HangingParameters } });
    await s.req("POST", "/tasks", { task_id: "hang", task_type: "HangingParameters" });
    const t0 = performance.now();
    const set = await s.req("POST", "/tasks/hang/parameters", { key: "a", value: 1 });
    const get = await s.req("GET", "/tasks/hang/parameters/a");
    // The calls never settle: answering at all is the 100 ms bound at work (its value is checked below).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    for (const r of [set, get]) {
      expect(r.status).toBe(504);
      expect(isEnvelope(r.body)).toBe(true);
      expect(r.body.error.type).toBe("TimeoutError");
      expect(r.body.error.context).toMatchObject({ task_id: "hang", key: "a", timeout_ms: 100 });
    }
    release();
    await settled("hang");
  });

  test("a task without setParameter/getParameter answers 400 NotSupported", async () => {
    await s.req("POST", "/tasks", { task_id: "stub", task_type: "StubbornTask" });
    expect((await s.req("POST", "/tasks/stub/parameters", { key: "a", value: 1 })).body.error.type).toBe(
      "NotSupported",
    );
    expect((await s.req("GET", "/tasks/stub/parameters/a")).body.error.type).toBe("NotSupported");
  });

  test("cancel?force=true frees the devices of a task that ignores cancellation", async () => {
    await s.req("POST", "/tasks", {
      task_id: "stubborn",
      task_type: "StubbornTask",
      params: { device_ids: ["test_device"] },
    });
    const polite = await s.req("POST", "/tasks/stubborn/cancel");
    expect(polite.body.status).toBe("cancellation_requested");
    expect((await s.req("GET", "/devices/test_device")).body.owned_by).toBe("stubborn");
    expect((await s.req("POST", "/tasks/stubborn/cancel?force=maybe")).status).toBe(400);
    const forced = await s.req("POST", "/tasks/stubborn/cancel?force=true");
    expect(forced.body).toEqual({ status: "cancellation_requested", task_id: "stubborn", task_status: "cancelled" });
    await until(() => s.server.ownership.size === 0, 1000, "release");
    expect((await s.req("GET", "/devices/test_device")).body.owned_by).toBeNull();
    expect((await s.req("POST", "/devices/test_device/call", { method: "getValue" })).status).toBe(200);
    expect((await s.req("GET", "/tasks/stubborn")).body.status).toBe("cancelled");
  });
});
