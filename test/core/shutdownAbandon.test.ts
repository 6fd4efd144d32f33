// shutdown is bounded even for a task that ignores cancel; which task was abandoned is reported.
import { expect, test } from "bun:test";
import { LabDaemon, type ErrorEvent } from "../../src/index.ts";

class Deaf {
  static cleaned: string[] = [];
  constructor(readonly taskId: string) {}
  async run() {
    try {
      await new Promise(() => {}); // never looks at ctx.signal or ctx.checkpoint()
    } finally {
      Deaf.cleaned.push(this.taskId);
    }
  }
}
class Polite {
  static cleaned: string[] = [];
  constructor(readonly taskId: string) {}
  async run(ctx: { signal: AbortSignal }) {
    try {
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
    } finally {
      Polite.cleaned.push(this.taskId);
    }
  }
}

test("a task that ignores cancel is abandoned at the shutdown bound and reported by id; a polite one cleans up", async () => {
  const d = new LabDaemon();
  d.registerPlugins({ tasks: { Deaf, Polite } });
  const errors: ErrorEvent[] = [];
  d.on("error", (e) => errors.push(e));
  d.executeTask("deaf1", "Deaf");
  d.executeTask("polite1", "Polite");
  await d.shutdown({ timeoutMs: 200 });
  expect(Polite.cleaned).toEqual(["polite1"]);
  expect(Deaf.cleaned).toEqual([]);
  const abandoned = errors.filter((e) => e.error.name === "TaskAbandoned");
  expect(abandoned.map((e) => e.id)).toEqual(["deaf1"]);
  expect(abandoned[0]!.context).toMatchObject({ task_type: "Deaf", phase: "shutdown", timeout_ms: 200 });
  expect(abandoned[0]!.error.message).toContain("finally");
});
