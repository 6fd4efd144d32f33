// The server's log names a task that shutdown abandoned because it ignored its cancel.
import { expect, test } from "bun:test";
import { startTestServer } from "../support/apiServer.ts";

class Deaf {
  constructor(readonly taskId: string) {}
  run() {
    return new Promise(() => {});
  }
}

test("a task abandoned at shutdown is logged with its id", async () => {
  const s = await startTestServer({ logLevel: "info" });
  s.daemon.registerPlugins({ tasks: { Deaf } });
  expect((await s.req("POST", "/tasks", { task_id: "deaf-task", task_type: "Deaf" })).status).toBe(200);
  await s.server.stop({ timeoutMs: 500 });
  await s.daemon.shutdown({ timeoutMs: 100 });
  const line = s.lines.find((l) => l.startsWith("warn labdaemon: Task 'deaf-task' (Deaf)"));
  expect(line).toContain("abandoned");
});
