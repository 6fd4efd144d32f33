// A real server with a data directory on a loopback port, task classes that record data, and h5py /
// sqlite3 readers, for the data tests.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabDaemon, type TaskContext } from "../../src/index.ts";
import { DataStore, type DataStoreOptions } from "../../src/data/dataStore.ts";
import { LabDaemonServer } from "../../src/server/index.ts";
import { SimDaq } from "../../drivers/index.ts";
import { captureLogger, jsonRequester, type ApiResult } from "../support/apiServer.ts";

/** Records one of every kind of data, twice (appends), and returns arrays and plain values. */
export class RecordAll {
  static params = undefined;
  constructor(
    readonly taskId: string,
    readonly params: Record<string, unknown>,
  ) {}
  async run(ctx: TaskContext) {
    for (let i = 0; i < 2; i++) {
      ctx.record("scalar", i + 0.5);
      ctx.record(
        "list",
        [1, 2, 3].map((v) => v + 10 * i),
      );
      ctx.record("f32", new Float32Array([1.5, 2.5]));
      ctx.record("i16", new Int16Array([-3, 4]));
      ctx.record("u8", new Uint8Array([7, 8]));
      ctx.record("i32", new Int32Array([100000, -100000]));
      ctx.record("curve", { x: [i, i + 0.5], y: new Float64Array([i * 2, i * 2 + 1]) }, { unit: "nm", points: 2 });
      ctx.progress((i + 1) / 2, `pass ${i + 1}`);
    }
    return { trace: new Float64Array([9, 8, 7]), label: "done", n: 3 };
  }
}

/** Reports progress, then runs until cancelled. */
export class Waits {
  constructor(
    readonly taskId: string,
    readonly params: Record<string, unknown>,
  ) {}
  async run(ctx: TaskContext) {
    ctx.progress(0.4, "waiting");
    ctx.record("before", [1, 2, 3]);
    await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
    return "stopped";
  }
}

export class Fails {
  constructor(
    readonly taskId: string,
    readonly params: Record<string, unknown>,
  ) {}
  run(): never {
    throw new RangeError("boom at step 3");
  }
}

export class Returns {
  constructor(
    readonly taskId: string,
    readonly params: Record<string, unknown>,
  ) {}
  run() {
    return { echo: this.params, value: 42 };
  }
}

/** Records a name given in its params (to check names are refused). */
export class RecordsName {
  constructor(
    readonly taskId: string,
    readonly params: { name: string },
  ) {}
  run(ctx: TaskContext) {
    ctx.record(this.params.name, [1]);
    return null;
  }
}

/** What a test hands a RecordsLate task: resolved by the task when it recorded first, and what its late record threw. */
export interface LateHooks {
  recorded: PromiseWithResolvers<void>;
  /** The task records again once the test resolves this (force mode). */
  goOn: PromiseWithResolvers<void>;
  thrown: PromiseWithResolvers<unknown>;
}

/**
 * Records after it has ended: `mode: "force"` ignores cancellation and records again when the test lets it
 * go on; `mode: "timer"` returns and records from a timer. The late record's error goes to `thrown`.
 */
export class RecordsLate {
  static readonly hooks = new Map<string, LateHooks>();
  constructor(
    readonly taskId: string,
    readonly params: { mode: "force" | "timer" },
  ) {}
  async run(ctx: TaskContext) {
    const hooks = RecordsLate.hooks.get(this.taskId)!;
    const late = () => {
      try {
        ctx.record("late", [2]);
        hooks.thrown.resolve(null);
      } catch (e) {
        hooks.thrown.resolve(e);
      }
    };
    ctx.record("early", [1]);
    hooks.recorded.resolve();
    if (this.params.mode === "timer") {
      setTimeout(late, 0);
      return { v: 1 };
    }
    await hooks.goOn.promise;
    late();
    return null;
  }
}

/** Makes one ctx.record mistake (`params.mistake`), returns what it threw, and records "after" on. */
export class RecordsMistake {
  constructor(
    readonly taskId: string,
    readonly params: { mistake: "group-then-dataset" | "dataset-then-child" | "attrs-without-data" | "narrowing" },
  ) {}
  run(ctx: TaskContext) {
    const mistakes = {
      "group-then-dataset": () => {
        ctx.record("curve", { x: [1], y: [2] });
        return () => ctx.record("curve", [5]);
      },
      "dataset-then-child": () => {
        ctx.record("a", [1]);
        return () => ctx.record("a/b", [2]);
      },
      "attrs-without-data": () => () => ctx.record("trace", new Float32Array(0), { unit: "V" }),
      narrowing: () => {
        ctx.record("v", new Int16Array([1]));
        return () => ctx.record("v", [3, 2.7, 70000, -1.5]);
      },
    };
    const mistake = mistakes[this.params.mistake]();
    let thrown = "nothing";
    try {
      mistake();
    } catch (e) {
      thrown = `${(e as Error).name}: ${(e as Error).message}`;
    }
    for (let i = 0; i < 3; i++) ctx.record("after", [i]);
    return thrown;
  }
}

export const dataTasks = { RecordAll, Waits, Fails, Returns, RecordsName, RecordsLate, RecordsMistake };

export interface DataServer {
  daemon: LabDaemon;
  server: LabDaemonServer;
  data: DataStore;
  url: string;
  dir: string;
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResult>;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "ld-data-"));
}

/** A daemon with SimDaq devices `daq1`/`daq2` connected (`daq3` not) and the data tasks, served with a data directory. */
export async function startDataServer(
  dir: string,
  opts: Partial<DataStoreOptions> & { daqRate?: number } = {},
): Promise<DataServer> {
  const daemon = new LabDaemon({ completedTaskBuffer: 5 });
  daemon.registerPlugins({ devices: { SimDaq }, tasks: dataTasks });
  const daqParams = { sampleRate: opts.daqRate ?? 20_000, batchSize: 500, dtype: "float32" };
  for (const id of ["daq1", "daq2"]) {
    daemon.addDevice(id, "SimDaq", daqParams);
    await daemon.connectDevice(id);
  }
  daemon.addDevice("daq3", "SimDaq", daqParams); // left disconnected
  const data = await DataStore.open(daemon, { dir, devices: { daq1: { type: "SimDaq", params: daqParams } }, ...opts });
  const server = new LabDaemonServer(daemon, { port: 0, logger: captureLogger([]), data });
  await server.start();
  const url = server.url;
  return {
    daemon,
    server,
    data,
    url,
    dir,
    req: jsonRequester(url),
    async close() {
      await server.stop({ timeoutMs: 2000 });
      await daemon.shutdown({ timeoutMs: 2000 });
      await data.close(2000);
    },
  };
}

/** Runs a Python snippet with Debian's h5py; `FILE` is bound to `file`, `py(v)` makes an attribute JSON-able; the snippet prints JSON. */
export function h5py(file: string, code: string): any {
  const prelude =
    "def py(v):\n    return v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, 'item') else v\n";
  const script = `import h5py, json, sys\nFILE = sys.argv[1]\n${prelude}${code}\n`;
  const r = Bun.spawnSync(["/usr/bin/python3", "-c", script, file], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  if (r.exitCode !== 0) throw new Error(`h5py failed (${r.exitCode}): ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString());
}

/** Waits (bounded) until `check` returns something truthy. */
export async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}
