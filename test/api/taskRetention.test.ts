// completedTaskBuffer: which finished tasks and task errors the server keeps, oldest evicted first.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { runToEnd } from "./taskSupport.ts";

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

describe("finished tasks", () => {
  test("with completedTaskBuffer 2 the oldest finished task is evicted (GET /tasks/{id} 404)", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 2 });
    for (const id of ["task1", "task2", "task3"])
      expect(await runToEnd(s, id, "MockTask", { delay: 1 })).toBe("completed");
    const t1 = await s.req("GET", "/tasks/task1");
    expect(t1.status).toBe(404);
    expect(t1.body.error.type).toBe("TaskNotFound");
    for (const id of ["task2", "task3"]) expect((await s.req("GET", `/tasks/${id}`)).body.status).toBe("completed");
    expect((await s.req("GET", "/tasks")).body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([
      "task2",
      "task3",
    ]);
  });
});

describe("stored task errors", () => {
  const errorStatus = async (id: string) => (await s.req("GET", `/tasks/${id}/error`)).status;

  test("task errors are bounded by the completed-task buffer", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 3 });
    for (let i = 0; i < 6; i++) expect(await runToEnd(s, `f${i}`, "FailingTask")).toBe("failed");
    const present = [];
    for (let i = 0; i < 6; i++) if ((await s.req("GET", `/tasks/f${i}/error`)).status === 200) present.push(i);
    expect(present).toEqual([3, 4, 5]);
  });

  test("with completedTaskBuffer 0 the last task error is still kept", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 0 });
    expect(await runToEnd(s, "only", "FailingTask", { message: "kept" })).toBe("failed");
    expect((await s.req("GET", "/tasks/only")).status).toBe(404); // the task itself is evicted at once
    const e = await s.req("GET", "/tasks/only/error");
    expect(e.status).toBe(200);
    expect(e.body.error).toMatchObject({ type: "RangeError", message: "kept" });
    expect(await runToEnd(s, "next", "FailingTask")).toBe("failed");
    expect([await errorStatus("only"), await errorStatus("next")]).toEqual([404, 200]);
  });

  test("with buffer 2, failures A, B, A again, C keep exactly A and C (a re-run counts as newest)", async () => {
    await s.close();
    s = await startTestServer({ completedTaskBuffer: 2 });
    for (const id of ["A", "B", "A", "C"]) expect(await runToEnd(s, id, "FailingTask", { message: id })).toBe("failed");
    expect({ A: await errorStatus("A"), B: await errorStatus("B"), C: await errorStatus("C") }).toEqual({
      A: 200,
      B: 404,
      C: 200,
    });
  });
});
