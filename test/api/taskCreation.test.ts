// How POST /tasks makes a task: the class is constructed once, and params named like the route's own
// fields (task_id, task_type …) reach the task as plain params.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { TaskContext } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { runToEnd, taskEvent } from "./taskSupport.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

async function addDevice(id: string, type: string, connect = false) {
  expect((await s.req("POST", "/devices", { device_id: id, device_type: type })).status).toBe(200);
  if (connect) expect((await s.req("POST", `/devices/${id}/connect`)).status).toBe(200);
}

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
    expect(await runToEnd(s, "c1", "CountedTask")).toBe("completed");
    expect(CountedTask.constructed).toBe(1);
    expect((await s.req("GET", "/tasks/c1")).body.result).toBe(1);
  });

  test("a task with deviceIds is constructed exactly once, and the claimed ids are the reported ones", async () => {
    await addDevice("dev1", "MockDevice", true);
    const ended = taskEvent(s, "c2", "completed", "failed");
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
    const ended = taskEvent(s, "real", "completed", "failed");
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
