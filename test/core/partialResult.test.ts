// A cancelled task's partial result, both ways the README documents: return it once cancelled, or throw
// TaskCancelledError carrying it. wait() rejects with the partial result; `result` keeps it.
import { expect, test } from "bun:test";
import { LabDaemon, TaskCancelledError, type TaskContext } from "../../src/index.ts";

class Collect {
  static started: (() => void) | null = null;
  points: number[] = [];
  constructor(
    readonly taskId: string,
    readonly params: { style: "return" | "throw" | "ignore" },
  ) {}
  async run(ctx: TaskContext) {
    try {
      for (let i = 0; ; i++) {
        await ctx.checkpoint();
        this.points.push(i);
        if (i === 2) Collect.started?.();
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch (e) {
      if (!(e instanceof TaskCancelledError) || this.params.style === "ignore") throw e;
      if (this.params.style === "return") return { points: this.points, complete: false };
      throw new TaskCancelledError(e.message, e.context, { points: this.points, complete: false });
    }
  }
}

for (const style of ["return", "throw"] as const) {
  test(`a task that ${style}s its partial result when cancelled keeps it in result and in wait()'s error`, async () => {
    const d = new LabDaemon();
    d.registerPlugins({ tasks: { Collect } });
    const going = new Promise<void>((r) => (Collect.started = r));
    const h = d.executeTask(`c-${style}`, "Collect", { style });
    await going;
    h.cancel();
    const err: any = await h.wait({ timeoutMs: 5000 }).catch((e) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    expect(h.status).toBe("cancelled");
    expect((err.result as { points: number[] }).points.slice(0, 3)).toEqual([0, 1, 2]);
    expect(h.result).toEqual(err.result);
    await d.shutdown();
  });
}

test("a task that lets the cancellation propagate has no partial result", async () => {
  const d = new LabDaemon();
  d.registerPlugins({ tasks: { Collect } });
  const going = new Promise<void>((r) => (Collect.started = r));
  const h = d.executeTask("c-ignore", "Collect", { style: "ignore" });
  await going;
  h.cancel();
  const err: any = await h.wait({ timeoutMs: 5000 }).catch((e) => e);
  expect(err).toBeInstanceOf(TaskCancelledError);
  expect(h.result).toBeUndefined();
  await d.shutdown();
});
