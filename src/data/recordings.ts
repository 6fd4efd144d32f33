// Recordings: a device stream or a task's data, each in its own HDF5 file with its provenance, listed in
// the catalogue. Writes go through H5Writer (a Worker); this file decides what goes where, recordedValues.ts
// what shape values take.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LabDaemon } from "../core/daemon.ts";
import { doesNotStream } from "../core/deviceStream.ts";
import { clip } from "../core/clip.ts";
import { InvalidRequestError, TaskError } from "../core/errors.ts";
import { isoMillis } from "../core/events.ts";
import type { StreamInfo, Subscription } from "../core/streamHub.ts";
import type { Catalogue, RunRow } from "./catalogue.ts";
import { checkDatasetName, checkRunName, newRunId } from "./names.ts";
import { notFound, RunFileError, RunStateError } from "./runErrors.ts";
import { sourceHash, type Provenance } from "./provenance.ts";
import type { TaskHistory } from "./taskHistory.ts";
import { json } from "./taskHistory.ts";
import type { H5Writer } from "./writer.ts";
import type { AttrValue, DatasetInfo, NumericArray } from "./writerProtocol.ts";
import {
  attrValues,
  describeType,
  dtypeName,
  firstLoss,
  h5TypeName,
  numericPayload,
  resultParts,
  splitData,
} from "./recordedValues.ts";

/** A stream recording stops with an error when this much data waits for the disk. */
const MAX_BACKLOG_BYTES = 256 << 20;
/** Names a task may not record under: its return value goes there. */
const RESERVED = ["return_value", "return_value_json"];
/** Finished runs kept in memory besides the catalogue. */
const MAX_RECENT = 100;
/** The longest recording a request may ask for: a week. */
export const MAX_DURATION_S = 7 * 86_400;

interface Active {
  row: RunRow;
  file: number;
  /** Settles once the writer has tried to create the file: null, or why it could not. */
  opened: Promise<string | null>;
  datasets: Map<string, { rows: number; dtype: string }>;
  /** Groups the datasets' paths make ("a" of "a/b"). */
  groups: Set<string>;
  error: string | null;
  stopping: Promise<RunRow> | null;
  // stream recordings only
  sub?: Subscription;
  timer?: ReturnType<typeof setTimeout>;
  firstSeq?: number;
  lastSeq?: number;
  gaps?: number;
  missing?: number;
  samples?: number;
  sampleType?: { new (n: number): NumericArray } | null;
  endedBy?: string;
  /** The device's own counters when the recording started: the file reports what changed during it. */
  countersAtStart?: Record<string, number>;
}

export interface DeviceDescription {
  type: string;
  params?: Record<string, unknown>;
}

export class Recordings {
  private readonly active = new Map<string, Active>();
  private readonly taskRuns = new Map<string, Active>();
  /** Runs finished lately, as they are: answered even while the catalogue cannot be written (disk full). */
  private readonly recent = new Map<string, RunRow>();

  constructor(
    private readonly daemon: LabDaemon,
    private readonly catalogue: Catalogue,
    private readonly history: TaskHistory,
    private readonly writer: H5Writer,
    private readonly dir: string,
    private readonly provenance: Provenance,
    /** The configuration's description of a device (its parameters), when it came from there. */
    private readonly deviceConfig: (id: string) => DeviceDescription | undefined,
    private readonly maxBacklogBytes = MAX_BACKLOG_BYTES,
  ) {
    daemon.on("task", (e) => {
      if (e.kind === "completed" || e.kind === "failed" || e.kind === "cancelled") this.taskEnded(e.taskId, e.kind);
    });
  }

  /** A run this server made lately, from memory; else null (ask the catalogue). */
  row(runId: string): RunRow | null {
    return this.active.get(runId)?.row ?? this.recent.get(runId) ?? null;
  }

  /** Recording here, or by another server that shares this data directory (the launcher's profiles do). */
  isRecording(runId: string): boolean {
    return this.active.has(runId) || this.recorderElsewhere(runId) !== null;
  }

  /** The pid of another live server recording `runId` into this data directory, or null. */
  private recorderElsewhere(runId: string): number | null {
    const row = this.catalogue.run(runId);
    if (!row || row.status !== "recording" || row.session_id === this.catalogue.sessionId) return null;
    return this.catalogue.livePid(row.session_id);
  }

  private elsewhereError(runId: string, pid: number): RunStateError {
    return new RunStateError(
      `Run '${runId}' is being recorded by another server sharing this data directory (pid ${pid}); stop it there`,
      { run_id: runId, pid },
    );
  }

  /** Live figures of a recording still under way. */
  liveDatasets(runId: string): DatasetInfo[] | null {
    const a = this.active.get(runId);
    if (!a) return null;
    return [...a.datasets].map(([name, d]) => ({ name, shape: [d.rows], dtype: d.dtype }));
  }

  // ---------------------------------------------------------------- streams

  /** Subscribes to the device's stream (starting it if needed) and records every payload until stopped. */
  async recordStream(deviceId: string, opts: { name?: string; durationS?: number; notes?: string }): Promise<RunRow> {
    const name = opts.name === undefined ? deviceId : checkRunName(opts.name);
    if (
      opts.durationS !== undefined &&
      !(typeof opts.durationS === "number" && opts.durationS > 0 && opts.durationS <= MAX_DURATION_S)
    ) {
      throw new InvalidRequestError(`duration_s must be a number of seconds within (0, ${MAX_DURATION_S}]`, {
        duration_s: opts.durationS,
      });
    }
    const devType = this.daemon.deviceState(deviceId).deviceType;
    if (!this.daemon.canStream(deviceId)) throw doesNotStream(deviceId, devType);
    const a = this.begin(
      "stream",
      name,
      {
        device_id: deviceId,
        device_type: devType,
        device_params: json(this.deviceConfig(deviceId)?.params ?? null),
      },
      { device_id: deviceId, notes: opts.notes ?? null },
    );
    Object.assign(a, {
      firstSeq: undefined,
      lastSeq: undefined,
      gaps: 0,
      missing: 0,
      samples: 0,
      sampleType: null,
      countersAtStart: this.deviceCounters(deviceId),
    });
    const openError = await a.opened;
    if (openError !== null) {
      // Kept as a failed run naming the cause; the request is told at once rather than given a dead run.
      await this.finish(a, "failed");
      throw new RunFileError(`Cannot record device '${deviceId}': ${openError}`, {
        run_id: a.row.run_id,
        device_id: deviceId,
      });
    }
    if (a.stopping) return a.row; // stopped while the file was being created: nothing to subscribe for
    try {
      a.sub = await this.daemon.subscribe(deviceId, (payload, info) => this.onSample(a, payload, info), {
        onEnd: (reason) => {
          a.endedBy = `${reason.type}: ${reason.message}`;
          a.sub = undefined;
          void this.finish(a, "completed");
        },
      });
    } catch (e) {
      // The stream never started: nothing was recorded, so no run is left behind.
      a.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      await this.finish(a, "failed");
      this.remove(a.row.run_id);
      throw e;
    }
    if (a.stopping && a.sub) {
      // Stopped while the stream was starting: finish() found no subscription to end, so end it here.
      void a.sub.unsubscribe().catch(() => {});
      a.sub = undefined;
      return a.row;
    }
    if (opts.durationS !== undefined) {
      a.timer = setTimeout(() => void this.finish(a, "completed"), opts.durationS * 1000);
    }
    return a.row;
  }

  private onSample(a: Active, payload: unknown, info: StreamInfo): void {
    if (a.stopping) return;
    const data = numericPayload(payload);
    if (!data) {
      a.error = `payload #${info.sequence} is not numeric (${describeType(payload)}); only numbers, numeric arrays and typed arrays can be recorded`;
      void this.finish(a, "failed");
      return;
    }
    if (a.lastSeq !== undefined && info.sequence !== a.lastSeq + 1) {
      a.gaps!++;
      a.missing! += Math.max(0, info.sequence - a.lastSeq - 1);
    }
    a.firstSeq ??= info.sequence;
    a.lastSeq = info.sequence;
    // The first batch fixes the sample type; later ones are converted to it.
    a.sampleType ??= data.constructor as { new (n: number): NumericArray };
    this.append(a, "batch_offset", new Float64Array([a.samples!]));
    this.append(a, "batch_sequence", new Float64Array([info.sequence]));
    this.append(a, "batch_time", new Float64Array([info.time / 1000]));
    this.append(a, "samples", data);
    a.samples! += data.length;
    if (this.writer.backlogBytes > this.maxBacklogBytes) {
      a.error = this.notKeepingUp();
      void this.finish(a, "failed");
    }
  }

  /** Ends a stream recording (its file is closed and complete). */
  async stop(runId: string): Promise<RunRow> {
    const a = this.active.get(runId);
    if (!a) {
      const pid = this.recorderElsewhere(runId);
      if (pid !== null) throw this.elsewhereError(runId, pid);
      const row = this.row(runId) ?? this.catalogue.run(runId);
      if (!row) throw notFound(runId);
      throw new RunStateError(`Run '${runId}' is not recording (status: ${row.status})`, {
        run_id: runId,
        status: row.status,
      });
    }
    if (a.row.kind === "task") {
      throw new RunStateError(`Run '${runId}' belongs to task '${a.row.task_id}'; cancel the task to end it`, {
        run_id: runId,
        task_id: a.row.task_id,
      });
    }
    return this.finish(a, "completed");
  }

  // ---------------------------------------------------------------- tasks

  /** ctx.record: checks at once, writes later. */
  record(taskId: string, name: string, data: unknown, attrs?: Record<string, unknown>): void {
    // The task's file was closed when it ended: a late call (a force-cancelled run() going on, a timer)
    // would otherwise open a new run that nothing closes.
    const h = this.daemon.hasTask(taskId) ? this.daemon.getTask(taskId) : null;
    if (!h?.isRunning()) {
      const status = h?.status ?? "ended";
      throw new TaskError(
        `Task '${taskId}' cannot record '${clip(String(name), 80)}': it has ended (${status}) and its data file is closed`,
        { task_id: taskId, status },
      );
    }
    checkDatasetName(name, RESERVED);
    const parts = splitData(name, data);
    const values = attrs === undefined ? undefined : attrValues(attrs);
    const a = this.taskRun(taskId);
    // Checked here, before anything is written: in the writer such a mistake would fail the whole file.
    for (const [path, arr] of parts) checkAppend(a, name, path, arr);
    if (values && parts.every(([path, arr]) => (a.datasets.get(path)?.rows ?? 0) + arr.length === 0)) {
      throw new InvalidRequestError(
        `record('${name}'): attributes need data to go on; record at least one value with them (or before them)`,
        { name },
      );
    }
    // A task records as fast as it likes: beyond the bound, it is told (and can wait or record less)
    // instead of filling memory while the disk falls behind.
    if (this.writer.backlogBytes > this.maxBacklogBytes)
      throw new TaskError(`Task '${taskId}' cannot record '${clip(String(name), 80)}': ${this.notKeepingUp()}`, {
        task_id: taskId,
        backlog_bytes: this.writer.backlogBytes,
      });
    for (const [path, arr] of parts) this.append(a, path, arr);
    if (values) this.writer.setAttrs(a.file, name, values);
  }

  private notKeepingUp(): string {
    return `the disk is not keeping up: ${(this.writer.backlogBytes / 2 ** 20).toFixed(0)} MiB wait to be written`;
  }

  private taskRun(taskId: string): Active {
    let a = this.taskRuns.get(taskId);
    if (a) return a;
    const h = this.daemon.getTask(taskId);
    const devices: Record<string, DeviceDescription> = {};
    for (const id of h.deviceIds)
      devices[id] = { type: this.daemon.deviceState(id).deviceType, params: this.deviceConfig(id)?.params };
    a = this.begin(
      "task",
      taskId,
      {
        task_id: taskId,
        task_type: h.taskType,
        task_params: json(h.params),
        task_source_sha256: sourceHash(this.daemon.getTaskClass(h.taskType)),
        devices: json(devices),
      },
      { task_id: taskId, task_type: h.taskType, params: json(h.params) },
    );
    this.taskRuns.set(taskId, a);
    this.history.linkRun(taskId, a.row.run_id);
    return a;
  }

  private taskEnded(taskId: string, status: string): void {
    const h = this.daemon.hasTask(taskId) ? this.daemon.getTask(taskId) : null;
    const result = h?.result;
    if (!this.taskRuns.has(taskId) && (result === undefined || result === null)) return;
    const a = this.taskRun(taskId);
    this.taskRuns.delete(taskId);
    if (result !== undefined && result !== null) this.writeResult(a, result);
    const err = h?.exception();
    if (err) a.error = `${err.name}: ${err.message}`;
    void this.finish(a, status).then((row) => this.history.updateRunOf(taskId, row.run_id));
  }

  /** A task's return value: its numeric parts as datasets, the rest as JSON text. */
  private writeResult(a: Active, result: unknown): void {
    const { arrays, rest } = resultParts(result);
    for (const [path, arr] of arrays) this.append(a, path, arr);
    if (rest !== undefined) this.writer.text(a.file, "return_value_json", json(rest));
  }

  // ---------------------------------------------------------------- common

  private begin(kind: "stream" | "task", label: string, attrs: Record<string, string>, extra: Partial<RunRow>): Active {
    const runId = newRunId(label);
    const file = join(this.dir, `${runId}.h5`);
    const started = Date.now();
    const meta: Record<string, AttrValue> = {
      ...this.provenance,
      run_id: runId,
      kind,
      started_at: isoMillis(started),
      notes: extra.notes ?? "",
      ...attrs,
    };
    const row: RunRow = {
      run_id: runId,
      kind,
      session_id: this.catalogue.sessionId,
      name: label,
      task_id: null,
      task_type: null,
      device_id: null,
      status: "recording",
      file,
      started_ms: started,
      finished_ms: null,
      notes: null,
      params: "{}",
      metadata: json(meta),
      datasets: "[]",
      error: null,
      bytes: 0,
      ...extra,
    };
    const h5 = this.writer.open(file, meta, (message) => {
      a.error ??= message;
      void this.finish(a, "failed");
    });
    const a: Active = {
      row,
      file: h5.file,
      opened: h5.opened,
      datasets: new Map(),
      groups: new Set(),
      error: null,
      stopping: null,
    };
    this.active.set(runId, a);
    this.catalogue.putRun(row);
    return a;
  }

  private append(a: Active, name: string, data: NumericArray): void {
    const d = a.datasets.get(name);
    if (d) d.rows += data.length;
    else {
      a.datasets.set(name, { rows: data.length, dtype: dtypeName(data) });
      for (const group of parentsOf(name)) a.groups.add(group);
    }
    this.writer.append(a.file, name, data);
  }

  /** Closes the file once; the catalogue gets the final status, datasets and size. */
  private finish(a: Active, status: string): Promise<RunRow> {
    a.stopping ??= (async () => {
      if (a.timer) clearTimeout(a.timer);
      const sub = a.sub;
      a.sub = undefined;
      if (sub) await sub.unsubscribe().catch(() => {});
      const finished = Date.now();
      const final: Record<string, AttrValue> = {
        finished_at: isoMillis(finished),
        status: a.error ? "failed" : status,
      };
      if (a.error) final.error = a.error;
      if (a.row.kind === "stream") {
        const deltas = this.counterDeltas(a);
        Object.assign(
          final,
          {
            sample_count: a.samples ?? 0,
            batch_count: a.datasets.get("batch_sequence")?.rows ?? 0,
            sequence_first: a.firstSeq ?? 0,
            sequence_last: a.lastSeq ?? 0,
            sequence_gaps: a.gaps ?? 0,
            missing_batches: a.missing ?? 0,
            dropped: 0,
            complete: !a.error && (a.gaps ?? 0) === 0 && !(deltas.device_dropped > 0),
            ended_by: a.endedBy ?? (a.error ? "error" : "stop"),
          },
          deltas,
        );
      }
      const { datasets, bytes } = await this.writer.close(a.file, final);
      this.active.delete(a.row.run_id);
      const row: RunRow = {
        ...a.row,
        status: a.error ? "failed" : status,
        finished_ms: finished,
        error: a.error,
        bytes,
        datasets: json(datasets.map((d) => ({ ...d, dtype: h5TypeName(d.dtype) }))),
        metadata: json({ ...JSON.parse(a.row.metadata), ...final }),
      };
      this.catalogue.putRun(row);
      this.recent.set(row.run_id, row);
      if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.keys().next().value!);
      return row;
    })();
    return a.stopping;
  }

  /** How the device's counters moved while recording (`device_dropped`: samples its ring lost meanwhile). */
  private counterDeltas(a: Active): Record<string, number> {
    const end = this.deviceCounters(a.row.device_id!);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(end)) out[k] = v - (a.countersAtStart?.[k] ?? 0);
    return out;
  }

  /** The device's own loss counters (a DAQ's ring overflows), when it reports them. */
  private deviceCounters(deviceId: string): Record<string, number> {
    const out: Record<string, number> = {};
    try {
      for (const [k, v] of Object.entries(this.daemon.streamStats(deviceId) ?? {}))
        if (typeof v === "number") out[`device_${k}`] = v;
    } catch {
      // removed or failing: no counters
    }
    return out;
  }

  /** Deletes a finished run's file and entry. */
  remove(runId: string): void {
    if (this.active.has(runId)) {
      throw new RunStateError(`Run '${runId}' is still recording; stop it first`, { run_id: runId });
    }
    const pid = this.recorderElsewhere(runId);
    if (pid !== null) throw this.elsewhereError(runId, pid);
    const row = this.row(runId) ?? this.catalogue.run(runId);
    if (!row) throw notFound(runId);
    // Asked first: bun's rmSync fails (EFAULT) rather than ignoring a path through a plain file.
    if (existsSync(row.file)) rmSync(row.file, { force: true });
    this.recent.delete(runId);
    this.catalogue.dropRun(runId);
  }

  /**
   * A recording cut off by a crash was never closed, so its catalogue entry says nothing of what its file
   * holds: its datasets and size are read from the file, for GET /runs/{id} and CSV downloads.
   */
  async describeInterrupted(): Promise<void> {
    for (const row of this.catalogue.undescribedRuns()) {
      if (!existsSync(row.file)) continue;
      try {
        const { datasets, bytes } = await this.writer.inspect(row.file);
        const described = datasets.map((d) => ({ ...d, dtype: h5TypeName(d.dtype) }));
        this.catalogue.putRun({ ...row, datasets: json(described), bytes });
      } catch {
        // a file HDF5 cannot open: left as it is, still downloadable
      }
    }
  }

  /** Ends every recording (server stopping): files are closed and complete up to now. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.active.values()].map((a) => this.finish(a, a.row.kind === "task" ? "interrupted" : "completed")),
    );
  }
}

/** "a/b/c" → ["a", "a/b"]. */
function parentsOf(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/** Refuses an append the file cannot take as it is: a name clash, or values the dataset's type would change. */
function checkAppend(a: Active, name: string, path: string, data: NumericArray): void {
  const have = a.datasets.get(path);
  if (!have) {
    if (a.groups.has(path)) {
      const inside = [...a.datasets.keys()].filter((k) => k.startsWith(`${path}/`)).slice(0, 5);
      throw new InvalidRequestError(
        `record('${name}'): '${path}' is a group in this file (holding ${inside.join(", ")}); a dataset cannot take its name`,
        { name, dataset: path },
      );
    }
    const parent = parentsOf(path).find((p) => a.datasets.has(p));
    if (parent !== undefined) {
      throw new InvalidRequestError(
        `record('${name}'): '${parent}' is a dataset in this file; '${path}' cannot go under it`,
        { name, dataset: path },
      );
    }
    return;
  }
  const at = firstLoss(have.dtype, data);
  if (at >= 0) {
    throw new InvalidRequestError(
      `record('${name}'): ${String(data[at])} (index ${at}) does not fit '${path}' (${have.dtype}, set by its first record) without loss; record these values under another name, or record the first ones as a wider type`,
      { name, dataset: path, dtype: have.dtype },
    );
  }
}
