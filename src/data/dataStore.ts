// A server's data directory: the run catalogue, the task history, the recordings and their writer thread,
// opened together at start (an unusable directory is a start-up error) and closed together.
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LabDaemon } from "../core/daemon.ts";
import { setTaskRecorder } from "../core/recorder.ts";
import { withDeadline } from "../core/deadline.ts";
import { Catalogue, CATALOGUE_FILE, type Retention, type RunRow } from "./catalogue.ts";
import { csvOf } from "./csv.ts";
import { provenanceOf, type Provenance } from "./provenance.ts";
import { Recordings, type DeviceDescription } from "./recordings.ts";
import { TaskHistory } from "./taskHistory.ts";
import { H5Writer } from "./writer.ts";

export interface DataStoreOptions {
  /** The data directory; created when missing. */
  dir: string;
  retention?: Retention;
  /** The configuration file the server was started from (its hash and git commit go into every file). */
  configFile?: string | null;
  profile?: string | null;
  /** Device parameters from the configuration, for the files' metadata. */
  devices?: Record<string, DeviceDescription>;
  /** Bytes that may wait for the disk before a recording is failed or a ctx.record refused (256 MiB). */
  maxBacklogBytes?: number;
}

/** How long start-up spends reading the files of recordings a crash cut off (the rest stay undescribed). */
const DESCRIBE_TIMEOUT_MS = 5000;

/** The data directory cannot be used; raised at start, never at the first recording. */
export class DataDirError extends Error {
  override name = "DataDirError";
}

export class DataStore {
  readonly dir: string;
  readonly catalogue: Catalogue;
  readonly history: TaskHistory;
  readonly recordings: Recordings;
  readonly provenance: Provenance;
  private readonly writer: H5Writer;
  private closed = false;

  private constructor(
    readonly daemon: LabDaemon,
    opts: DataStoreOptions,
  ) {
    this.dir = resolve(opts.dir);
    prepareDir(this.dir);
    this.provenance = provenanceOf(opts.configFile ?? null, opts.profile ?? null);
    try {
      this.catalogue = new Catalogue(join(this.dir, CATALOGUE_FILE), {
        retention: opts.retention,
        version: this.provenance.labdaemon_version,
        host: this.provenance.host,
      });
    } catch (e) {
      throw new DataDirError(
        `${join(this.dir, CATALOGUE_FILE)}: cannot open the run catalogue: ${(e as Error).message}`,
      );
    }
    this.history = new TaskHistory(daemon, this.catalogue);
    this.writer = new H5Writer();
    const runsDir = join(this.dir, "runs");
    prepareDir(runsDir);
    this.recordings = new Recordings(
      daemon,
      this.catalogue,
      this.history,
      this.writer,
      runsDir,
      this.provenance,
      (id) => opts.devices?.[id],
      opts.maxBacklogBytes,
    );
    setTaskRecorder(daemon, this.recordings);
  }

  /** Opens (creating) the directory and its catalogue, waits for the writer thread, describes cut-off runs. */
  static async open(daemon: LabDaemon, opts: DataStoreOptions): Promise<DataStore> {
    const store = new DataStore(daemon, opts);
    await store.writer.whenReady();
    await withDeadline(store.recordings.describeInterrupted(), DESCRIBE_TIMEOUT_MS);
    return store;
  }

  /** CSV of the run's one dataset (or `dataset`), read on the writer thread a slice at a time as it is sent. */
  csv(row: RunRow, dataset?: string, opts: { stallMs?: number } = {}): Promise<ReadableStream<Uint8Array>> {
    return csvOf(this.writer, row, dataset, opts);
  }

  /** Ends recordings (files closed and readable), writes what is queued, closes the catalogue. Bounded. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    setTaskRecorder(this.daemon, null);
    await withDeadline(this.recordings.stopAll(), timeoutMs);
    this.catalogue.close();
    this.writer.terminate();
  }
}

function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    // A real write: permission bits alone say nothing for root, nor for a read-only mount.
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    // node's messages mostly begin with the code already ("ENOENT: no such file or directory, mkdir …").
    const { code, message } = e as NodeJS.ErrnoException;
    const reason = code && !message.startsWith(code) ? `${code} ${message}` : message;
    throw new DataDirError(`data directory ${dir} cannot be used: ${reason}`.replace(/\s+/g, " "));
  }
}
