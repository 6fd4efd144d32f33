// Coordinator tasks, which start child tasks through ctx.executeTask: a failing child is an entry in the
// result, and cancelling the coordinator cancels its children and stops it spawning more.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { TaskContext } from "../../src/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { until } from "../support/fixtures.ts";
import { runToEnd, taskEvent } from "./taskSupport.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

describe("coordinator tasks", () => {
  test("a coordinator whose middle child fails still completes with that child's error entry", async () => {
    class FailsIfMiddle {
      constructor(readonly taskId: string) {}
      async run() {
        await Promise.resolve();
        if (this.taskId.endsWith("_child_1")) throw new RangeError("middle child broke");
        return { status: "complete", task_id: this.taskId };
      }
    }
    s.daemon.registerPlugins({ tasks: { FailsIfMiddle } });
    expect(await runToEnd(s, "co", "CoordinatorTask", { children: 3, childType: "FailsIfMiddle" })).toBe("completed");
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

  test("cancelling a coordinator mid-spawn cancels the spawned children and spawns no more", async () => {
    Spawner.spawned = [];
    s.daemon.registerPlugins({ tasks: { Spawner } });
    const ended = taskEvent(s, "sp", "completed", "failed", "cancelled");
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

  test("a child started by a coordinator that ignores its cancel is cancelled at once", async () => {
    Spawner.spawned = [];
    s.daemon.registerPlugins({ tasks: { Spawner } });
    const ended = taskEvent(s, "deaf", "completed", "failed", "cancelled");
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
});
