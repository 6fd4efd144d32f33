import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  DaemonClosedError,
  DeviceNotFoundError,
  InvalidTaskDefinitionError,
  NotSupportedError,
  LabDaemon,
  TaskCancelledError,
  TaskError,
  TaskExistsError,
  TaskFailedError,
  TaskInstantiationError,
  TaskNotFoundError,
  TaskTypeNotFoundError,
  TimeoutError,
  type TaskContext,
  type TaskEvent,
} from "../../src/index.ts";
import {
  type MockDevice,
  type SteppedTask,
  StubbornTask,
  deviceClasses,
  taskClasses,
  until,
} from "../support/fixtures.ts";

let daemon: LabDaemon;
beforeEach(() => {
  daemon = new LabDaemon();
  daemon.registerPlugins({ devices: deviceClasses, tasks: taskClasses });
});
afterEach(() => daemon.shutdown({ timeoutMs: 100 }));

/** Resolves at the task's next event of `kind`. */
function nextEvent(d: LabDaemon, taskId: string, kind: TaskEvent["kind"]): Promise<TaskEvent> {
  return new Promise((resolve) => {
    const off = d.on("task", (e) => {
      if (e.taskId === taskId && e.kind === kind) {
        off();
        resolve(e);
      }
    });
  });
}

describe("running tasks", () => {
  test("executeTask returns a running handle; wait returns the result; status completed", async () => {
    const h = daemon.executeTask("task1", "MockTask", { delay: 10, extra: "ignored" });
    expect(h.taskId).toBe("task1");
    expect(h.status).toBe("running");
    expect(h.isRunning()).toBe(true);
    expect(await h.wait({ timeoutMs: 1000 })).toEqual({ status: "complete", task_id: "task1" });
    expect(h.isRunning()).toBe(false);
    expect(h.status).toBe("completed");
    expect(h.exception()).toBeNull();
    expect(h.progress.fraction).toBe(1);
  });

  test("a task reaches a connected device through ctx.daemon", async () => {
    daemon.addDevice("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    const h = daemon.executeTask("t", "DeviceUsingTask", { device_id: "dev1" });
    expect(h.deviceIds).toEqual(["dev1"]);
    expect(await h.wait()).toEqual({ message: "Hello from dev1" });
  });

  test("the task class is constructed exactly once", async () => {
    let constructed = 0;
    class Counting {
      constructor() {
        constructed++;
      }
      run() {
        return constructed;
      }
    }
    daemon.registerPlugins({ tasks: { Counting } });
    expect(await daemon.executeTask("c1", "Counting").wait()).toBe(1);
  });

  test("three tasks run concurrently, each with its own result", async () => {
    const hs = ["a", "b", "c"].map((id) => daemon.executeTask(id, "MockTask", { delay: 30 }));
    expect(hs.every((h) => h.isRunning())).toBe(true);
    expect((await Promise.all(hs.map((h) => h.wait()))).map((r) => (r as { task_id: string }).task_id)).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  test("a failing task: wait rejects TaskFailedError with the cause; exception() is the original", async () => {
    const h = daemon.executeTask("fail_task", "FailingTask");
    const err = (await h.wait().then(
      () => null,
      (e: unknown) => e,
    )) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.message).toContain("Task 'fail_task' failed during execution");
    expect(err.cause).toBeInstanceOf(RangeError);
    expect(h.exception()?.message).toBe("Something went wrong");
    expect(h.status).toBe("failed");
  });

  test("wait with a timeout rejects TimeoutError and the task keeps running", async () => {
    const h = daemon.executeTask("slow_task", "MockTask", { delay: 300 });
    await expect(h.wait({ timeoutMs: 20 })).rejects.toThrow(TimeoutError);
    await expect(h.wait({ timeoutMs: 20 })).rejects.toThrow("Wait timed out for task 'slow_task'");
    expect(h.isRunning()).toBe(true);
    h.cancel();
  });

  test("progress is reported through the handle and as events", async () => {
    const events: TaskEvent[] = [];
    daemon.on("task", (e) => events.push(e));
    const h = daemon.executeTask("p", "SteppedTask", { steps: 4, stepMs: 1 });
    await h.wait();
    const kinds = events.map((e) => e.kind);
    expect(kinds[0]).toBe("started");
    expect(kinds.at(-1)).toBe("completed");
    expect(events.filter((e) => e.kind === "progress").map((e) => e.progress?.fraction)).toEqual([0.25, 0.5, 0.75, 1]);
  });
});

describe("ids and validation", () => {
  test("reusing a running task's id throws TaskExistsError; a finished retained id is replaced", async () => {
    const h = daemon.executeTask("task1", "MockTask", { delay: 50 });
    expect(() => daemon.executeTask("task1", "MockTask")).toThrow(
      new TaskExistsError("Task with ID 'task1' is already running."),
    );
    await h.wait();
    const h2 = daemon.executeTask("task1", "MockTask", { delay: 1 });
    expect(daemon.getTask("task1")).toBe(h2);
    await h2.wait();
    expect(daemon.listTasks().filter((t) => t.taskId === "task1")).toHaveLength(1);
  });

  test("failures before the start store nothing and burn no id", async () => {
    expect(() => daemon.executeTask("t1", "UnknownTask")).toThrow(TaskTypeNotFoundError);
    expect(() => daemon.executeTask("t1", "UnknownTask")).toThrow("Unknown task type: 'UnknownTask'");
    expect(() => daemon.executeTask("t1", "ThrowingConstructorTask")).toThrow(TaskInstantiationError);
    expect(() => daemon.executeTask("t1", "ThrowingConstructorTask")).toThrow("Task init failed");
    expect(() => daemon.executeTask("t1", "BadDeviceIdsTask", { ids: "dev1" })).toThrow(InvalidTaskDefinitionError);
    expect(() => daemon.executeTask("t1", "BadDeviceIdsTask", { ids: "dev1" })).toThrow("device_ids must be a list");
    expect(() => daemon.executeTask("t1", "BadDeviceIdsTask", { ids: [123] })).toThrow("must contain only strings");
    expect(() => daemon.executeTask("t1", "BadDeviceIdsTask", { ids: ["ghost"] })).toThrow(DeviceNotFoundError);
    expect(() => daemon.executeTask("bad id", "MockTask")).toThrow("ids must match");
    expect(daemon.listTasks()).toEqual([]);
    expect(await daemon.executeTask("t1", "MockTask", { delay: 1 }).wait()).toBeTruthy();
  });

  test("a constructor failure is reported as a task error event", () => {
    const seen: string[] = [];
    daemon.on("error", (e) => seen.push(`${e.scope}:${e.id}:${e.error.message}`));
    expect(() => daemon.executeTask("failing_task", "ThrowingConstructorTask")).toThrow();
    expect(seen).toEqual(["task:failing_task:Task init failed"]);
  });

  test("getTask of an unknown id throws TaskNotFoundError", () => {
    expect(() => daemon.getTask("nope")).toThrow(TaskNotFoundError);
  });

  test("beforeStart can veto the start; nothing is stored", () => {
    expect(() =>
      daemon.executeTask(
        "v",
        "MockTask",
        {},
        {
          beforeStart: () => {
            throw new Error("claimed");
          },
        },
      ),
    ).toThrow("claimed");
    expect(daemon.hasTask("v")).toBe(false);
  });
});

describe("cancel, pause, resume", () => {
  test("cancel makes wait reject TaskCancelledError carrying the partial result", async () => {
    const h = daemon.executeTask("c", "SteppedTask", { steps: 1000, stepMs: 2 });
    await nextEvent(daemon, "c", "progress");
    expect(h.cancel()).toBe(true);
    const err = (await h.wait({ timeoutMs: 1000 }).then(
      () => null,
      (e: unknown) => e,
    )) as TaskCancelledError;
    expect(err).toBeInstanceOf(TaskCancelledError);
    const partial = err.result as { steps_completed: number };
    expect(partial.steps_completed).toBeGreaterThan(0);
    expect(partial.steps_completed).toBeLessThan(1000);
    expect(h.result).toEqual(partial);
    expect(h.status).toBe("cancelled");
    expect(h.isRunning()).toBe(false);
  });

  test("cancel aborts ctx.signal so waits inside the task end at once", async () => {
    const h = daemon.executeTask("c", "MockTask", { delay: 10_000 });
    const t0 = performance.now();
    h.cancel();
    await expect(h.wait()).rejects.toThrow(TaskCancelledError);
    expect(performance.now() - t0).toBeLessThan(5000); // not the task's 10 s wait
  });

  test("cancel after completion changes nothing", async () => {
    const h = daemon.executeTask("done", "MockTask", { delay: 1 });
    const r = await h.wait();
    expect(h.cancel()).toBe(false);
    expect(await h.wait()).toEqual(r);
    expect(h.status).toBe("completed");
  });

  test("a paused task makes at most one more step; resume lets it finish all steps", async () => {
    const h = daemon.executeTask("p", "SteppedTask", { steps: 20, stepMs: 3 });
    await nextEvent(daemon, "p", "progress");
    expect(h.pause()).toBe(true);
    expect(h.isPaused()).toBe(true);
    expect(h.status).toBe("paused");
    const task = h.task as SteppedTask;
    const atPause = task.stepsCompleted;
    await new Promise((r) => setTimeout(r, 60)); // ~20 steps' worth of time: the gate must hold
    expect(task.stepsCompleted - atPause).toBeLessThanOrEqual(1);
    expect(h.resume()).toBe(true);
    expect(h.isPaused()).toBe(false);
    expect(await h.wait()).toEqual({ steps_completed: 20, final_value: 5 });
  });

  test("pausing and resuming three times still completes every step", async () => {
    const h = daemon.executeTask("p3", "SteppedTask", { steps: 30, stepMs: 1 });
    for (let i = 0; i < 3; i++) {
      await nextEvent(daemon, "p3", "progress");
      expect(h.pause()).toBe(true);
      expect(h.isPaused()).toBe(true);
      expect(h.resume()).toBe(true);
    }
    expect(((await h.wait()) as { steps_completed: number }).steps_completed).toBe(30);
  });

  test("cancel unblocks a paused task", async () => {
    const h = daemon.executeTask("pc", "SteppedTask", { steps: 100, stepMs: 1 });
    await nextEvent(daemon, "pc", "progress");
    h.pause();
    h.cancel();
    await expect(h.wait({ timeoutMs: 500 })).rejects.toThrow(TaskCancelledError);
    expect(h.isRunning()).toBe(false);
  });

  test("force cancel records a task that ignores cancellation as cancelled at once", async () => {
    const h = daemon.executeTask("stub", "StubbornTask");
    h.cancel();
    await expect(h.wait({ timeoutMs: 30 })).rejects.toThrow(TimeoutError);
    h.cancel({ force: true });
    expect(h.status).toBe("cancelled");
    await expect(h.wait({ timeoutMs: 30 })).rejects.toThrow(TaskCancelledError);
    StubbornTask.release?.();
  });

  test("taskContext cancels a still-running task on exit, and leaves a finished one alone", async () => {
    let outer;
    {
      await using h = daemon.taskContext("tc", "MockTask", { delay: 5000 });
      outer = h;
    }
    expect(outer.status).toBe("cancelled");
    {
      await using h2 = daemon.taskContext("tc2", "MockTask", { delay: 1 });
      await h2.wait();
      outer = h2;
    }
    expect(outer.status).toBe("completed");
  });
});

describe("parameters", () => {
  test("setParameter during a run shows in the result; getParameter reads live values", async () => {
    const h = daemon.executeTask("i", "SteppedTask", { steps: 30, stepMs: 2 });
    expect(await h.getParameter("value")).toBe(5);
    await nextEvent(daemon, "i", "progress");
    expect(await h.getParameter("steps_completed")).toBeGreaterThan(0);
    await h.setParameter("value", 42);
    await Promise.all([1, 2, 3].map((v) => h.setParameter("value", 42 + 0 * v)));
    expect(((await h.wait()) as { final_value: number }).final_value).toBe(42);
  });

  test("the task's own errors propagate; tasks without the methods give NotSupportedError, a TaskError", async () => {
    const h = daemon.executeTask("i", "SteppedTask", { steps: 3 });
    await expect(h.setParameter("invalid_key", 1)).rejects.toThrow("Unknown parameter: invalid_key");
    await expect(h.getParameter("invalid_key")).rejects.toThrow("Unknown parameter: invalid_key");
    const m = daemon.executeTask("m", "MockTask");
    await expect(m.setParameter("x", 1)).rejects.toThrow(TaskError);
    await expect(m.getParameter("x")).rejects.toThrow(NotSupportedError);
    await expect(m.setParameter("x", 1)).rejects.toThrow("does not support parameter updates");
    await expect(m.getParameter("x")).rejects.toThrow("does not support parameter queries");
    await h.wait();
  });
});

describe("child tasks", () => {
  test("a coordinator collects 3 parallel child results", async () => {
    const r = (await daemon.executeTask("co", "CoordinatorTask", { children: 3 }).wait()) as { status: string }[];
    expect(r.map((x) => x.status)).toEqual(["complete", "complete", "complete"]);
  });

  test("a coordinator runs children in sequence", async () => {
    const r = (await daemon.executeTask("seq", "CoordinatorTask", { children: 3, parallel: false }).wait()) as {
      task_id: string;
    }[];
    expect(r.map((x) => x.task_id)).toEqual(["seq_step_0", "seq_step_1", "seq_step_2"]);
  });

  test("a coordinator with 10 children finishes", async () => {
    const r = (await daemon
      .executeTask("ten", "CoordinatorTask", { children: 10 })
      .wait({ timeoutMs: 5000 })) as unknown[];
    expect(r).toHaveLength(10);
  });

  test("a failing child is reported by the coordinator, which still completes", async () => {
    const r = (await daemon.executeTask("cf", "CoordinatorTask", { children: 2, childType: "FailingTask" }).wait()) as {
      error: string;
    }[];
    expect(r).toEqual([
      { error: "TaskFailedError", child_index: 0 },
      { error: "TaskFailedError", child_index: 1 },
    ] as never);
  });

  test("cancelling a coordinator cancels its children", async () => {
    const h = daemon.executeTask("cc", "CoordinatorTask", { children: 3, childParams: { delay: 5000 } });
    await until(() => daemon.hasTask("cc_child_2"));
    h.cancel();
    await expect(h.wait({ timeoutMs: 1000 })).rejects.toThrow(TaskCancelledError);
    for (let i = 0; i < 3; i++) expect(daemon.getTask(`cc_child_${i}`).status).toBe("cancelled");
  });
});

describe("retention", () => {
  test("completedTaskBuffer evicts the oldest-finished first", async () => {
    const d = new LabDaemon({ completedTaskBuffer: 2 });
    d.registerPlugins({ tasks: taskClasses });
    for (const id of ["task1", "task2", "task3"]) await d.executeTask(id, "MockTask", { delay: 1 }).wait();
    expect(d.hasTask("task1")).toBe(false);
    expect(d.hasTask("task2")).toBe(true);
    expect(d.hasTask("task3")).toBe(true);
  });

  test("eviction goes by finishing order, not start order", async () => {
    const d = new LabDaemon({ completedTaskBuffer: 1 });
    d.registerPlugins({ tasks: taskClasses });
    const slow = d.executeTask("slow", "MockTask", { delay: 60 });
    await d.executeTask("quick", "MockTask", { delay: 1 }).wait();
    expect(d.hasTask("slow")).toBe(true); // running tasks are never evicted
    await slow.wait();
    expect(d.hasTask("quick")).toBe(false);
    expect(d.hasTask("slow")).toBe(true);
  });

  test("buffer 0 evicts at once, but the handle still returns the result", async () => {
    const d = new LabDaemon({ completedTaskBuffer: 0 });
    d.registerPlugins({ tasks: taskClasses });
    const h = d.executeTask("z", "MockTask", { delay: 1 });
    expect(await h.wait()).toEqual({ status: "complete", task_id: "z" });
    expect(d.hasTask("z")).toBe(false);
  });

  test("250 tasks with buffer 2 retain 2", async () => {
    const d = new LabDaemon({ completedTaskBuffer: 2 });
    d.registerPlugins({ tasks: taskClasses });
    for (let i = 0; i < 250; i++) await d.executeTask(`t${i}`, "MockTask", { delay: 0 }).wait();
    expect(d.listTasks().map((t) => t.taskId)).toEqual(["t248", "t249"]);
  });
});

describe("shutdown", () => {
  test("cancels running tasks, stops streams and disconnects devices", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    daemon.addDevice("s1", "StreamingDevice");
    await daemon.startStreaming("s1", () => {});
    const a = daemon.executeTask("a", "MockTask", { delay: 2000 });
    const b = daemon.executeTask("b", "SteppedTask", { steps: 1000 });
    await daemon.shutdown({ timeoutMs: 1000 });
    expect([a.status, b.status]).toEqual(["cancelled", "cancelled"]);
    expect(dev.disconnects).toBe(1);
    expect(daemon.deviceState("s1").streaming).toBe(false);
    expect(() => daemon.executeTask("c", "MockTask")).toThrow("shut down");
  });

  test("is bounded in total and never hangs on devices and tasks that ignore it", async () => {
    for (let i = 0; i < 5; i++) {
      daemon.addDevice(`h${i}`, "HungDevice");
      await daemon.connectDevice(`h${i}`);
      await daemon.startStreaming(`h${i}`, () => {});
    }
    daemon.executeTask("stub", "StubbornTask");
    const t0 = performance.now();
    await daemon.shutdown({ timeoutMs: 200 });
    // The task and the devices never finish: returning at all is the 200 ms bound at work.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  test("a cancelled task's cleanup still reaches its devices; afterwards nothing does", async () => {
    const dev = daemon.addDevice<MockDevice>("dev1", "MockDevice");
    await daemon.connectDevice("dev1");
    const never = daemon.addDevice<MockDevice>("idle", "MockDevice"); // never connected: not disconnected
    class CleanupTask {
      deviceIds = ["dev1"];
      async run(ctx: TaskContext) {
        try {
          await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
        } finally {
          await ctx.daemon.getDevice<MockDevice>("dev1").setValue(-1); // e.g. the laser off
        }
      }
    }
    daemon.registerPlugins({ tasks: { CleanupTask } });
    const h = daemon.executeTask("t", "CleanupTask");
    await daemon.shutdown({ timeoutMs: 1000 });
    expect(h.status).toBe("cancelled");
    expect(dev.value).toBe(-1);
    expect([dev.disconnects, never.disconnects]).toEqual([1, 0]);
    const proxy = daemon.getDevice<MockDevice>("dev1");
    await expect(proxy.setValue(5)).rejects.toBeInstanceOf(DaemonClosedError);
    await expect(daemon.call("dev1", "setValue", [5])).rejects.toBeInstanceOf(DaemonClosedError);
    await expect(daemon.connectDevice("dev1")).rejects.toBeInstanceOf(DaemonClosedError);
    expect(() => daemon.startStreaming("dev1", () => {})).toThrow(DaemonClosedError);
    expect([dev.value, dev.connects]).toEqual([-1, 1]);
    await daemon.disconnectDevice("dev1"); // still allowed: it only makes things safer
  });

  test("is idempotent", async () => {
    const p1 = daemon.shutdown({ timeoutMs: 50 });
    expect(daemon.shutdown()).toBe(p1);
    await p1;
  });
});

test("a task cannot claim a device whose removal is under way (404), and the removal completes", async () => {
  let release!: () => void;
  class SlowStop {
    startStreaming() {}
    stopStreaming() {
      return new Promise<void>((r) => (release = r));
    }
  }
  daemon.registerPlugins({ devices: { SlowStop } });
  daemon.addDevice("dr", "SlowStop");
  await daemon.startStreaming("dr", () => {});
  const removing = daemon.removeDevice("dr", { timeoutMs: 2000 });
  await until(() => release !== undefined, 2000, "the stop to begin");
  class Needs {
    deviceIds = ["dr"];
    run() {}
  }
  daemon.registerPlugins({ tasks: { Needs } });
  expect(() => daemon.executeTask("needs", "Needs")).toThrow(DeviceNotFoundError);
  expect(daemon.hasTask("needs")).toBe(false);
  release();
  await removing;
  expect(daemon.hasDevice("dr")).toBe(false);
});

describe("a child task that outlives its parent", () => {
  test("takes over the parent's claim on the devices it uses: clients and other tasks are refused until it ends", async () => {
    const gate = Promise.withResolvers<void>();
    class Child {
      deviceIds: string[];
      constructor(_id: string, p: { dev: string }) {
        this.deviceIds = [p.dev];
      }
      async run() {
        await gate.promise;
        return "child done";
      }
    }
    class Parent {
      deviceIds: string[];
      constructor(_id: string, p: { dev: string }) {
        this.deviceIds = [p.dev];
      }
      async run(ctx: TaskContext) {
        ctx.executeTask("child1", "Child", { dev: this.deviceIds[0] });
        return "parent done";
      }
    }
    class Other {
      deviceIds = ["m1"];
      async run() {
        return "other";
      }
    }
    daemon.registerPlugins({ tasks: { Parent, Child, Other } });
    daemon.addDevice("m1", "MockDevice");
    const parent = daemon.executeTask("parent", "Parent", { dev: "m1" }, { exclusive: true, asClient: true });
    expect(await parent.wait()).toBe("parent done");
    expect(daemon.getTask("child1").status).toBe("running");
    expect(daemon.ownerOf("m1")).toBe("child1");
    const call = await daemon.call("m1", "getValue", [], { asClient: true }).catch((e: Error) => e);
    expect((call as Error).name).toBe("DeviceInUse");
    expect(() => daemon.executeTask("other", "Other", {}, { exclusive: true, asClient: true })).toThrow(
      /owned by 'child1'/,
    );
    gate.resolve();
    expect(await daemon.getTask("child1").wait()).toBe("child done");
    expect(daemon.ownerOf("m1")).toBeNull();
  });
});

describe("a task's end and its devices", () => {
  class Holder {
    release: () => void = () => {};
    constructor(readonly deviceId: string) {}
    hold() {
      return new Promise<void>((r) => (this.release = r));
    }
    poke() {
      return "poked";
    }
  }
  const runs: string[] = [];
  class Poker {
    deviceIds = ["x"];
    constructor(readonly id: string) {}
    async run(ctx: TaskContext) {
      runs.push(this.id);
      return ctx.daemon.getDevice<Holder>("x").poke();
    }
  }

  test("a task cancelled while it waits for its devices never starts run()", async () => {
    runs.length = 0;
    daemon.registerPlugins({ devices: { Holder }, tasks: { Poker } });
    daemon.addDevice("x", "Holder");
    const raw = daemon.getDeviceInstance("x") as Holder;
    const busy = daemon.call("x", "hold", [], { asClient: true });
    const a = daemon.executeTask("A", "Poker", {}, { exclusive: true, asClient: true });
    a.cancel({ force: true }); // its claim goes now; B may take the device
    const b = daemon.executeTask("B", "Poker", {}, { exclusive: true, asClient: true });
    raw.release();
    await busy;
    expect(await b.wait()).toBe("poked");
    expect(a.status).toBe("cancelled");
    expect(runs).toEqual(["B"]);
  });

  test("when a task's end is announced its devices are free: a listener can start the next task on them", async () => {
    daemon.registerPlugins({ devices: { Holder }, tasks: { Poker } });
    daemon.addDevice("x", "Holder");
    const next = Promise.withResolvers<string>();
    daemon.on("task", (e) => {
      if (e.kind !== "completed" || e.taskId !== "first") return;
      try {
        next.resolve(daemon.executeTask("second", "Poker", {}, { exclusive: true }).taskId);
      } catch (err) {
        next.resolve((err as Error).message);
      }
    });
    await daemon.executeTask("first", "Poker", {}, { exclusive: true }).wait();
    expect(await next.promise).toBe("second");
    await daemon.getTask("second").wait();
  });
});
