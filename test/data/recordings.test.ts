// Recordings over the real HTTP API: task data and stream recordings written to HDF5 and read back with
// Debian's h5py, the run routes, CSV, resubmit, and bad input on every new route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { isEnvelope } from "../support/apiServer.ts";
import { TaskError, type TaskContext } from "../../src/index.ts";
import { h5py, RecordsLate, startDataServer, tempDataDir, until, type DataServer, type LateHooks } from "./support.ts";

let s: DataServer;
beforeAll(async () => {
  s = await startDataServer(tempDataDir());
}, 30_000);
afterAll(() => s.close());

async function finishedTask(id: string): Promise<any> {
  return until(async () => {
    const r = await s.req("GET", `/tasks/${id}`);
    return r.body && !r.body.running ? r.body : null;
  }, `task ${id} to finish`);
}

async function runOf(taskId: string): Promise<any> {
  const t = await finishedTask(taskId);
  expect(t.run_id).toBeString();
  return until(async () => {
    const r = await s.req("GET", `/runs/${t.run_id}`);
    return r.body?.status !== "recording" ? r.body : null;
  }, `run of ${taskId} to close`);
}

describe("task recordings", () => {
  test("every kind of ctx.record data and the return value round-trip through h5py", async () => {
    const started = await s.req("POST", "/tasks", { task_id: "rec1", task_type: "RecordAll", params: { gain: 2 } });
    expect(started.status).toBe(200);
    const run = await runOf("rec1");
    expect(run.status).toBe("completed");
    expect(run.kind).toBe("task");
    const file = s.data.catalogue.run(run.run_id)!.file;
    const got = h5py(
      file,
      `
f = h5py.File(FILE, "r")
out = {}
for name in ["scalar", "list", "f32", "i16", "u8", "i32", "curve/x", "curve/y", "return_value/trace"]:
    d = f[name]
    out[name] = {"dtype": str(d.dtype), "values": d[()].tolist(), "maxshape": list(d.maxshape), "chunked": d.chunks is not None}
out["curve_attrs"] = {k: py(v) for k, v in f["curve"].attrs.items()}
out["json"] = json.loads(f["return_value_json"][()])
out["attrs"] = {k: py(v) for k, v in f.attrs.items()}
print(json.dumps(out))`,
    );
    expect(got.scalar).toMatchObject({ dtype: "float64", values: [0.5, 1.5], maxshape: [null], chunked: true });
    expect(got.list.values).toEqual([1, 2, 3, 11, 12, 13]);
    expect(got.f32).toMatchObject({ dtype: "float32", values: [1.5, 2.5, 1.5, 2.5] });
    expect(got.i16).toMatchObject({ dtype: "int16", values: [-3, 4, -3, 4] });
    expect(got.u8).toMatchObject({ dtype: "uint8", values: [7, 8, 7, 8] });
    expect(got.i32).toMatchObject({ dtype: "int32", values: [100000, -100000, 100000, -100000] });
    expect(got["curve/x"].values).toEqual([0, 0.5, 1, 1.5]);
    expect(got["curve/y"].values).toEqual([0, 1, 2, 3]);
    expect(got.curve_attrs).toEqual({ unit: "nm", points: 2 });
    expect(got["return_value/trace"].values).toEqual([9, 8, 7]);
    expect(got.json).toEqual({ label: "done", n: 3 });
    expect(got.attrs).toMatchObject({
      task_id: "rec1",
      task_type: "RecordAll",
      kind: "task",
      status: "completed",
      labdaemon_version: expect.any(String),
      host: expect.any(String),
      task_source_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.parse(got.attrs.task_params)).toEqual({ gain: 2 });
    expect(got.attrs.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(got.attrs.finished_at).toMatch(/\+00:00$/);
    // GET /runs/{id} lists the datasets with their sizes.
    const names = Object.fromEntries(run.datasets.map((d: any) => [d.name, d]));
    expect(names.list).toEqual({ name: "list", shape: [6], dtype: "float64" });
    expect(names.i16.dtype).toBe("int16");
    expect(run.bytes).toBeGreaterThan(0);
  }, 30_000);

  test("a task that records nothing and returns a value gets a file with the value; the catalogue keeps it too", async () => {
    await s.req("POST", "/tasks", { task_id: "ret1", task_type: "Returns", params: { a: [1, 2] } });
    const run = await runOf("ret1");
    const got = h5py(
      s.data.catalogue.run(run.run_id)!.file,
      `
f = h5py.File(FILE, "r")
print(json.dumps({"keys": sorted(f.keys()), "json": json.loads(f["return_value_json"][()])}))`,
    );
    expect(got.keys).toEqual(["return_value_json"]);
    expect(got.json).toEqual({ echo: { a: [1, 2] }, value: 42 });
    expect((await s.req("GET", "/tasks/ret1")).body.result).toEqual({ echo: { a: [1, 2] }, value: 42 });
  });

  test("a dataset name that would escape the file or a reserved name fails the task with the reason", async () => {
    for (const [id, name] of [
      ["bad1", "../x"],
      ["bad2", "/abs"],
      ["bad3", "a\u0000b"],
      ["bad4", "return_value"],
      ["bad5", "a//b"],
    ] as const) {
      await s.req("POST", "/tasks", { task_id: id, task_type: "RecordsName", params: { name } });
      const t = await finishedTask(id);
      expect(t.status).toBe("failed");
      expect(t.exception.error.message).toMatch(/dataset name/);
    }
  });

  for (const mode of ["force", "timer"] as const) {
    test(`ctx.record after the task ended (${mode === "force" ? "force-cancelled, run() goes on" : "from a timer after run() returned"}) throws TaskError; the task keeps its one run, closed`, async () => {
      const id = `late-${mode}`;
      const hooks: LateHooks = {
        recorded: Promise.withResolvers(),
        goOn: Promise.withResolvers(),
        thrown: Promise.withResolvers(),
      };
      RecordsLate.hooks.set(id, hooks);
      expect((await s.req("POST", "/tasks", { task_id: id, task_type: "RecordsLate", params: { mode } })).status).toBe(
        200,
      );
      await hooks.recorded.promise;
      if (mode === "force") {
        expect((await s.req("POST", `/tasks/${id}/cancel?force=true`)).status).toBe(200);
        hooks.goOn.resolve();
      }
      const thrown = (await hooks.thrown.promise) as Error;
      expect(thrown).toBeInstanceOf(TaskError);
      const status = mode === "force" ? "cancelled" : "completed";
      expect(thrown.message).toBe(
        `Task '${id}' cannot record 'late': it has ended (${status}) and its data file is closed`,
      );
      const run = await runOf(id);
      expect(run.status).toBe(status);
      const runs = (await s.req("GET", `/runs?task_id=${id}`)).body.runs;
      expect(runs.map((r: any) => [r.run_id, r.status])).toEqual([[run.run_id, status]]);
      expect((await s.req("GET", `/tasks/${id}`)).body.run_id).toBe(run.run_id);
      expect(run.datasets.map((d: any) => d.name)).not.toContain("late");
    });
  }

  test.each([
    [
      "group-then-dataset",
      "record('curve'): 'curve' is a group in this file (holding curve/x, curve/y); a dataset cannot take its name",
      { "curve/x": [1], "curve/y": [2] },
    ],
    ["dataset-then-child", "record('a/b'): 'a' is a dataset in this file; 'a/b' cannot go under it", { a: [1] }],
    [
      "attrs-without-data",
      "record('trace'): attributes need data to go on; record at least one value with them (or before them)",
      {},
    ],
    [
      "narrowing",
      "record('v'): 2.7 (index 1) does not fit 'v' (int16, set by its first record) without loss; record these values under another name, or record the first ones as a wider type",
      { v: [1] },
    ],
  ])("a ctx.record mistake (%s) throws InvalidRequest at the call; the file keeps everything else", async (mistake, message, kept) => {
    const id = `mistake-${mistake}`;
    await s.req("POST", "/tasks", { task_id: id, task_type: "RecordsMistake", params: { mistake } });
    const run = await runOf(id);
    expect((await s.req("GET", `/tasks/${id}`)).body.result).toBe(`InvalidRequest: ${message}`);
    expect(run.status).toBe("completed");
    expect(run.error).toBeNull();
    const got = h5py(
      s.data.catalogue.run(run.run_id)!.file,
      `
f = h5py.File(FILE, "r")
out = {}
f.visititems(lambda name, d: out.__setitem__(name, d[()].tolist() if d.shape else py(d[()])) if isinstance(d, h5py.Dataset) else None)
print(json.dumps(out))`,
    );
    expect(got).toEqual({ ...kept, after: [0, 1, 2], return_value_json: expect.any(String) });
  });

  test("POST /runs/{id}/resubmit starts the same task type with the same parameters as a new task", async () => {
    const run = await runOf("rec1");
    const r = await s.req("POST", `/runs/${run.run_id}/resubmit`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ task_id: "rec1-2", task_type: "RecordAll", status: "started" });
    const again = await finishedTask("rec1-2");
    expect(again.params).toEqual({ gain: 2 });
    expect(again.status).toBe("completed");
    const named = await s.req("POST", `/runs/${run.run_id}/resubmit`, { task_id: "rec-again" });
    expect(named.body.task_id).toBe("rec-again");
  });

  test("CSV of a one-dataset run; a run of several names them", async () => {
    await s.req("POST", "/tasks", { task_id: "wait-csv", task_type: "Waits" });
    await until(async () => (await s.req("GET", "/tasks/wait-csv")).body?.progress?.fraction === 0.4, "progress");
    await s.req("POST", "/tasks/wait-csv/cancel");
    const run = await runOf("wait-csv");
    expect(run.status).toBe("cancelled");
    const csv = await fetch(`${s.url}/runs/${run.run_id}/file?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toStartWith("text/csv");
    // "before" is the only numeric dataset besides the returned string (kept as JSON).
    expect(await csv.text()).toBe("before\n1\n2\n3\n");
    const emptyChoice = await fetch(`${s.url}/runs/${run.run_id}/file?format=csv&dataset=`);
    expect(await emptyChoice.text()).toBe("before\n1\n2\n3\n"); // "dataset=" alone: the only one
    const many = await runOf("rec1");
    const refused = await s.req("GET", `/runs/${many.run_id}/file?format=csv`);
    expect(refused.status).toBe(400);
    expect(isEnvelope(refused.body)).toBe(true);
    expect(refused.body.error.message).toMatch(/choose one with dataset=/);
    const curve = await fetch(`${s.url}/runs/${many.run_id}/file?format=csv&dataset=curve`);
    expect(await curve.text()).toBe("curve/x,curve/y\n0,0\n0.5,1\n1,2\n1.5,3\n");
  });

  test("at most two CSV exports are made at once: a third at the same time is 503 Busy, and works afterwards", async () => {
    class RecordsBig {
      constructor(readonly taskId: string) {}
      run(ctx: TaskContext) {
        ctx.record(
          "big",
          Float64Array.from({ length: 1_000_000 }, (_, i) => i / 3),
        );
        return null;
      }
    }
    s.daemon.registerPlugins({ tasks: { RecordsBig } });
    expect((await s.req("POST", "/tasks", { task_id: "big-csv", task_type: "RecordsBig" })).status).toBe(200);
    await until(async () => (await s.req("GET", "/tasks/big-csv")).body?.status === "completed", "completed");
    const run = await runOf("big-csv");
    await until(async () => (await s.req("GET", `/runs/${run.run_id}`)).body?.status === "completed", "closed");
    const url = `${s.url}/runs/${run.run_id}/file?format=csv`;
    const answers = await Promise.all([0, 1, 2].map(() => fetch(url)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503]);
    const busy = (await answers.find((r) => r.status === 503)!.json()) as any;
    expect(busy.error).toMatchObject({ type: "Busy" });
    expect(busy.error.message).toContain("CSV exports are under way");
    for (const r of answers) if (r.status === 200) expect((await r.text()).split("\n").length).toBe(1_000_002);
    expect((await fetch(url)).status).toBe(200);
  });

  test("GET /runs/{id}/file downloads the HDF5 file itself", async () => {
    const run = await runOf("rec1");
    const res = await fetch(`${s.url}/runs/${run.run_id}/file`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-hdf5");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]); // the HDF5 signature
    expect(bytes.length).toBe(run.bytes);
  });
});

describe("stream recordings", () => {
  test("two devices recorded at once: continuous sequences, every sample, counters as attributes", async () => {
    const a = await s.req("POST", "/devices/daq1/record", { name: "scan_a", notes: "first try" });
    const b = await s.req("POST", "/devices/daq2/record", {});
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body).toMatchObject({ device_id: "daq1", status: "recording" });
    // Let each collect a few batches, then stop.
    await until(
      async () =>
        (await s.req("GET", `/runs/${a.body.run_id}`)).body.datasets.find((d: any) => d.name === "samples")?.shape[0] >=
        5000,
      "samples",
    );
    await until(
      async () =>
        (await s.req("GET", `/runs/${b.body.run_id}`)).body.datasets.find((d: any) => d.name === "samples")?.shape[0] >=
        5000,
      "samples",
    );
    const live = await s.req("GET", `/runs/${a.body.run_id}`);
    expect(live.body.status).toBe("recording");
    const [sa, sb] = await Promise.all([
      s.req("POST", `/runs/${a.body.run_id}/stop`),
      s.req("POST", `/runs/${b.body.run_id}/stop`),
    ]);
    expect(sa.status).toBe(200);
    expect(sa.body.status).toBe("completed");
    expect(sb.body.status).toBe("completed");
    for (const [run, device] of [
      [sa.body, "daq1"],
      [sb.body, "daq2"],
    ] as const) {
      const got = h5py(
        s.data.catalogue.run(run.run_id)!.file,
        `
f = h5py.File(FILE, "r")
seq = f["batch_sequence"][()]
off = f["batch_offset"][()]
t = f["batch_time"][()]
a = {k: py(v) for k, v in f.attrs.items()}
print(json.dumps({"n": int(f["samples"].shape[0]), "dtype": str(f["samples"].dtype), "batches": int(seq.shape[0]),
  "continuous": bool(((seq[1:] - seq[:-1]) == 1).all()), "offsets_ok": bool((off == [i * 500 for i in range(len(off))]).all()),
  "times_rise": bool((t[1:] >= t[:-1]).all()), "attrs": a}))`,
      );
      expect(got.dtype).toBe("float32");
      expect(got.n).toBe(got.batches * 500);
      expect(got.continuous).toBe(true);
      expect(got.offsets_ok).toBe(true);
      expect(got.times_rise).toBe(true);
      expect(got.attrs).toMatchObject({
        device_id: device,
        device_type: "SimDaq",
        sample_count: got.n,
        batch_count: got.batches,
        sequence_gaps: 0,
        missing_batches: 0,
        complete: 1,
        status: "completed",
        device_dropped: 0,
      });
      expect(got.attrs.sequence_last - got.attrs.sequence_first + 1).toBe(got.batches);
    }
    expect(sa.body.name).toBe("scan_a");
    expect(sa.body.metadata.notes).toBe("first try");
    expect(JSON.parse(sa.body.metadata.device_params)).toEqual({
      sampleRate: 20_000,
      batchSize: 500,
      dtype: "float32",
    });
    // The device stream was started by the recording and stops with it.
    expect((await s.req("GET", "/devices/daq1")).body.streaming).toBe(false);
  }, 30_000);

  test("a recording outlives the connection of the client that started it", async () => {
    // A raw socket that sends the request and is destroyed right after the answer.
    const body = JSON.stringify({ duration_s: 0.6 });
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      const port = Number(new URL(s.url).port);
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(sock) {
            sock.write(
              `POST /devices/daq1/record HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            );
          },
          data(sock, chunk) {
            got += chunk.toString();
            if (got.includes("}")) {
              sock.terminate();
              resolve(got);
            }
          },
          error: (_s, e) => reject(e),
        },
      });
    });
    const runId = /"run_id":"([^"]+)"/.exec(answer)![1]!;
    const done = await until(async () => {
      const r = await s.req("GET", `/runs/${runId}`);
      return r.body.status === "completed" ? r.body : null;
    }, "the timed recording to end");
    // 0.6 s at 20 kS/s after the client left.
    expect(done.metadata.sample_count).toBeGreaterThanOrEqual(10_000);
    expect(done.metadata.ended_by).toBe("stop");
  }, 30_000);

  test("DELETE is refused while recording and removes file and entry afterwards", async () => {
    const r = await s.req("POST", "/devices/daq2/record", { name: "to-delete" });
    const refused = await s.req("DELETE", `/runs/${r.body.run_id}`);
    expect(refused.status).toBe(409);
    expect(isEnvelope(refused.body)).toBe(true);
    const fileWhileRecording = await s.req("GET", `/runs/${r.body.run_id}/file`);
    expect(fileWhileRecording.status).toBe(409);
    await s.req("POST", `/runs/${r.body.run_id}/stop`);
    const again = await s.req("POST", `/runs/${r.body.run_id}/stop`);
    expect(again.status).toBe(409);
    expect(again.body.error.type).toBe("RunNotRecording");
    const path = s.data.catalogue.run(r.body.run_id)!.file;
    expect(existsSync(path)).toBe(true);
    const del = await s.req("DELETE", `/runs/${r.body.run_id}`);
    expect(del.status).toBe(200);
    expect(existsSync(path)).toBe(false);
    expect((await s.req("GET", `/runs/${r.body.run_id}`)).status).toBe(404);
  });

  test("GET /runs filters by device, task and time", async () => {
    const all = (await s.req("GET", "/runs?limit=1000")).body.runs;
    expect(all.length).toBeGreaterThan(3);
    const daq1 = (await s.req("GET", "/runs?device_id=daq1")).body.runs;
    expect(daq1.length).toBeGreaterThan(0);
    expect(daq1.every((r: any) => r.device_id === "daq1")).toBe(true);
    const rec1 = (await s.req("GET", "/runs?task_id=rec1")).body.runs;
    expect(rec1.map((r: any) => r.task_id)).toEqual(["rec1"]);
    const future = (
      await s.req("GET", `/runs?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)
    ).body.runs;
    expect(future).toEqual([]);
    const epoch = (await s.req("GET", "/runs?until=1")).body.runs;
    expect(epoch).toEqual([]);
  });
});

describe("bad input on the data routes gets the envelope and changes nothing", () => {
  test.each([
    ["POST", "/devices/daq1/record", { name: "../etc" }, 400],
    ["POST", "/devices/daq1/record", { name: "/abs" }, 400],
    ["POST", "/devices/daq1/record", { name: "a\u0000b" }, 400],
    ["POST", "/devices/daq1/record", { name: ".." }, 400],
    ["POST", "/devices/daq1/record", { duration_s: -1 }, 400],
    ["POST", "/devices/daq1/record", { duration_s: "5" }, 400],
    ["POST", "/devices/daq1/record", { notes: 5 }, 400],
    ["POST", "/devices/daq1/record", { extra: 1 }, 400],
    ["POST", "/devices/daq1/record", [1, 2], 422],
    ["POST", "/devices/nope/record", {}, 404],
    ["POST", "/devices/daq3/record", {}, 400],
    ["GET", "/runs/nope", undefined, 404],
    ["GET", "/runs/..%2F..%2Fetc", undefined, 404],
    ["GET", "/runs/nope/file", undefined, 404],
    ["POST", "/runs/nope/stop", undefined, 404],
    ["DELETE", "/runs/nope", undefined, 404],
    ["POST", "/runs/nope/resubmit", {}, 404],
    ["GET", "/runs?limit=0", undefined, 400],
    ["GET", "/runs?since=yesterday", undefined, 400],
  ] as const)("%s %s %j → %d", async (method, path, body, status) => {
    const before = (await s.req("GET", "/runs?limit=1000")).body.runs.length;
    const r = await s.req(method, path, body);
    expect(r.status).toBe(status);
    expect(isEnvelope(r.body)).toBe(true);
    expect((await s.req("GET", "/runs?limit=1000")).body.runs.length).toBe(before);
    expect((await s.req("GET", "/devices/daq1")).body.streaming).toBe(false);
  });

  test("recording a device that has no stream is the caller's mistake: 400 InvalidRequest, as its SSE stream says", async () => {
    class Knob {
      position = 0;
    }
    s.daemon.registerPlugins({ devices: { Knob } });
    s.daemon.addDevice("knob1", "Knob", {});
    const before = (await s.req("GET", "/runs?limit=1000")).body.runs.length;
    const r = await s.req("POST", "/devices/knob1/record", {});
    const sse = await fetch(`${s.url}/stream/devices/knob1`);
    expect([r.status, sse.status]).toEqual([400, 400]);
    const message = "Device 'knob1' (Knob) does not stream: it has no startStreaming method";
    expect(r.body.error).toMatchObject({ type: "InvalidRequest", origin: "framework", message });
    expect(((await sse.json()) as any).error).toMatchObject({ type: "InvalidRequest", message });
    expect((await s.req("GET", "/runs?limit=1000")).body.runs.length).toBe(before);
    await s.daemon.removeDevice("knob1");
  });

  test("resubmit: a stream run is refused, a bad task id is refused", async () => {
    const run = (await s.req("GET", "/runs?device_id=daq1")).body.runs[0];
    const r = await s.req("POST", `/runs/${run.run_id}/resubmit`, {});
    expect(r.status).toBe(409);
    const task = (await s.req("GET", "/runs?task_id=rec1")).body.runs[0];
    const bad = await s.req("POST", `/runs/${task.run_id}/resubmit`, { task_id: "../x" });
    expect(bad.status).toBe(400);
    expect(isEnvelope(bad.body)).toBe(true);
  });

  test("format other than hdf5/csv is refused", async () => {
    const task = (await s.req("GET", "/runs?task_id=rec1")).body.runs[0];
    const r = await s.req("GET", `/runs/${task.run_id}/file?format=xlsx`);
    expect(r.status).toBe(400);
    expect(isEnvelope(r.body)).toBe(true);
  });

  test("the new routes are in /openapi.json", async () => {
    const spec = (await s.req("GET", "/openapi.json")).body;
    for (const p of [
      "/runs",
      "/runs/{run_id}",
      "/runs/{run_id}/file",
      "/runs/{run_id}/stop",
      "/runs/{run_id}/resubmit",
      "/devices/{device_id}/record",
    ]) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
  });
});

describe("the TypeScript client", () => {
  test("records, lists, reads, downloads (HDF5 and CSV), resubmits, stops and deletes runs", async () => {
    const { ServerAPI } = await import("../../src/client/index.ts");
    const api = new ServerAPI(s.url);
    const rec = await api.recordDevice("daq2", { name: "client_run", notes: "from the client" });
    expect(rec.status).toBe("recording");
    await until(
      async () => ((await api.getRun(rec.run_id)).datasets.find((d) => d.name === "samples")?.shape[0] ?? 0) >= 1000,
      "samples",
    );
    const stopped = await api.stopRun(rec.run_id);
    expect(stopped.status).toBe("completed");
    expect((await api.listRuns({ device_id: "daq2", limit: 1 })).runs[0]!.run_id).toBe(rec.run_id);
    const bytes = await api.downloadRun(rec.run_id, {});
    expect(bytes.length).toBe(stopped.bytes);
    const csv = await api.downloadRun(rec.run_id, { format: "csv" });
    expect(csv.split("\n")[0]).toBe("samples");
    expect(csv.trim().split("\n").length - 1).toBe(stopped.metadata.sample_count as number);
    const task = (await api.listRuns({ task_id: "rec1" })).runs[0]!;
    expect((await api.resubmitRun(task.run_id, "from-client")).task_id).toBe("from-client");
    expect((await api.deleteRun(rec.run_id)).status).toBe("deleted");
    const gone = await api.getRun(rec.run_id).catch((e) => e);
    expect(gone.status).toBe(404);
    expect(gone.type).toBe("RunNotFound");
  }, 30_000);
});

test("a recording stopped while its device's stream is still starting leaves the device stopped", async () => {
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  class SlowStart {
    running = false;
    constructor(readonly deviceId: string) {}
    async startStreaming() {
      started.resolve();
      await gate.promise;
      this.running = true;
    }
    stopStreaming() {
      this.running = false;
    }
  }
  s.daemon.registerPlugins({ devices: { SlowStart } });
  s.daemon.addDevice("slow1", "SlowStart");
  const raw = s.daemon.getDeviceInstance("slow1") as SlowStart;
  const recording = s.req("POST", "/devices/slow1/record", {});
  await started.promise;
  const runId = (await s.req("GET", "/runs?device_id=slow1")).body.runs[0].run_id;
  const stopped = s.req("POST", `/runs/${runId}/stop`);
  gate.resolve();
  expect((await recording).status).toBe(200);
  expect((await stopped).status).toBe(200);
  await until(async () => !raw.running && !s.daemon.deviceState("slow1").streaming, "the stream to stop");
  await s.daemon.removeDevice("slow1");
});

describe("a task recording faster than the disk takes it", () => {
  test("is refused at the call beyond the backlog bound; what it recorded before is in the file", async () => {
    const small = await startDataServer(tempDataDir(), { maxBacklogBytes: 8 << 20 });
    try {
      const outcome = Promise.withResolvers<{ recorded: number; error: string }>();
      class Floods {
        constructor(readonly taskId: string) {}
        run(ctx: TaskContext) {
          let recorded = 0;
          try {
            // All in one turn: the writer cannot report anything written before the loop ends.
            for (; recorded < 8; recorded++) ctx.record("chunk", new Float64Array(1 << 19).fill(recorded));
            outcome.resolve({ recorded, error: "" });
          } catch (e) {
            outcome.resolve({ recorded, error: (e as Error).message });
          }
          return null;
        }
      }
      small.daemon.registerPlugins({ tasks: { Floods } });
      await small.req("POST", "/tasks", { task_id: "flood", task_type: "Floods" });
      const { recorded, error } = await outcome.promise;
      expect(error).toContain("Task 'flood' cannot record 'chunk': the disk is not keeping up");
      expect(recorded).toBeGreaterThanOrEqual(2); // 8 MiB of 4 MiB records, then refused
      expect(recorded).toBeLessThan(8);
      const runId = await until(async () => {
        const t = (await small.req("GET", "/tasks/flood")).body;
        const r = t?.run_id ? (await small.req("GET", `/runs/${t.run_id}`)).body : null;
        return r && r.status !== "recording" ? r.run_id : null;
      }, "the run to close");
      const got = h5py(
        small.data.catalogue.run(runId)!.file,
        `
f = h5py.File(FILE, "r")
d = f["chunk"][()]
print(json.dumps({"n": int(d.shape[0]), "last": float(d[-1])}))`,
      );
      expect(got).toEqual({ n: recorded * (1 << 19), last: recorded - 1 });
    } finally {
      await small.close();
    }
  }, 60_000);
});
