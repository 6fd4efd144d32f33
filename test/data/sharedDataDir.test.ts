// Two servers sharing one data directory, as the launcher's profiles of one configuration do: the other
// server's live recording cannot be deleted, downloaded half-written or stopped from here.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { startDataServer, tempDataDir, until } from "./support.ts";

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

test("another live server's recording is 409 here for DELETE, download and stop; once it ends, it is ours to delete", async () => {
  const dir = tempDataDir();
  const other = Bun.spawn([process.execPath, MAIN, "serve", "--sim", "--port", "0", "--data-dir", dir], {
    env: { ...process.env, LABDAEMON_CONFIG: "" },
    stdout: "pipe",
    stderr: "inherit",
  });
  const here = await startDataServer(dir);
  try {
    const out = other.stdout.getReader();
    let text = "";
    while (!text.includes("labdaemon serving")) text += new TextDecoder().decode((await out.read()).value);
    const otherUrl = /on (http:\/\/\S+?)[\s(]/.exec(text)![1]!;
    const started = await fetch(`${otherUrl}/devices/daq1/record`, { method: "POST" });
    expect(started.status).toBe(200);
    const runId = ((await started.json()) as { run_id: string }).run_id;

    // Its catalogue row reaches the shared database with that server's next flush.
    await until(async () => (await here.req("GET", `/runs/${runId}`)).status === 200, "the other server's run");
    const pid = `(pid ${other.pid})`;
    const del = await here.req("DELETE", `/runs/${runId}`);
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain(`being recorded by another server sharing this data directory ${pid}`);
    expect((await fetch(`${here.url}/runs/${runId}/file`)).status).toBe(409);
    const stop = await here.req("POST", `/runs/${runId}/stop`);
    expect(stop.status).toBe(409);
    expect(stop.body.error.message).toContain(pid);

    expect((await fetch(`${otherUrl}/runs/${runId}/stop`, { method: "POST" })).status).toBe(200);
    await until(async () => (await here.req("GET", `/runs/${runId}`)).body?.status === "completed", "completed");
    expect((await fetch(`${here.url}/runs/${runId}/file`)).status).toBe(200);
    expect((await here.req("DELETE", `/runs/${runId}`)).status).toBe(200);
  } finally {
    other.kill("SIGTERM");
    await other.exited;
    await here.close();
  }
}, 60_000);
