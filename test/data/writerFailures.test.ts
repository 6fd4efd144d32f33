// Files the writer cannot create or write: every recording still ends, with the reason, and leaves the
// writer's accounting as it found it. The runs folder is replaced by a plain file, so no file can be made.
import { afterEach, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isEnvelope } from "../support/apiServer.ts";
import { startDataServer, tempDataDir, until, type DataServer } from "./support.ts";

let s: DataServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

/** A server whose runs/ folder is a file: creating any recording's file fails with ENOTDIR. */
async function serverThatCannotCreateFiles(): Promise<DataServer> {
  s = await startDataServer(tempDataDir());
  rmSync(join(s.dir, "runs"), { recursive: true });
  writeFileSync(join(s.dir, "runs"), "not a folder");
  return s;
}

async function closedRun(s: DataServer, runId: string): Promise<any> {
  return until(async () => {
    const r = await s.req("GET", `/runs/${runId}`);
    return r.body?.status !== "recording" ? r.body : null;
  }, `run ${runId} to close`);
}

test("POST /devices/{id}/record whose file cannot be created answers 500 RunFileError; the run ends failed and can be deleted", async () => {
  const s = await serverThatCannotCreateFiles();
  const r = await s.req("POST", "/devices/daq1/record", {});
  expect(r.status).toBe(500);
  expect(isEnvelope(r.body)).toBe(true);
  expect(r.body.error.type).toBe("RunFileError");
  expect(r.body.error.message).toContain("Cannot record device 'daq1': writing ");
  const runId = r.body.error.context.run_id;
  expect(r.body.error.context.device_id).toBe("daq1");
  // Ended already: the route waited for the close, so nothing is left recording.
  expect(s.data.recordings.isRecording(runId)).toBe(false);
  const run = (await s.req("GET", `/runs/${runId}`)).body;
  expect(run.status).toBe("failed");
  expect(run.error).toStartWith(`writing ${join(s.dir, "runs", `${runId}.h5`)} failed`);
  expect(run.error).toEndWith(`; ${join(s.dir, "runs")} is not a folder`);
  expect(run.datasets).toEqual([]);
  expect((await s.req("GET", "/devices/daq1")).body.streaming).toBe(false);
  expect((await s.req("POST", `/runs/${runId}/stop`)).body.error.type).toBe("RunNotRecording");
  expect((await s.req("DELETE", `/runs/${runId}`)).status).toBe(200);
});

test("a task whose file cannot be created completes; its run ends failed with the reason", async () => {
  const s = await serverThatCannotCreateFiles();
  expect((await s.req("POST", "/tasks", { task_id: "nofile", task_type: "RecordAll" })).status).toBe(200);
  await s.daemon.getTask("nofile").wait();
  const runId = (await s.req("GET", "/tasks/nofile")).body.run_id;
  expect(runId).toBeString();
  const run = await closedRun(s, runId);
  expect(run.status).toBe("failed");
  expect(run.error).toEndWith("is not a folder");
  expect(s.data.recordings.isRecording(runId)).toBe(false);
  // The data it recorded was handed to the writer and dropped there: none of it is still counted as
  // waiting for the disk (that count refuses new recordings past 256 MiB).
  expect(s.data["writer"].backlogBytes).toBe(0);
});
