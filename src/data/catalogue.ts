// The run catalogue: one SQLite file (WAL) holding tasks, stored errors and recordings across restarts.
// Writes are queued and applied in one transaction per flush, off the request path.
import { Database } from "bun:sqlite";

/** One task as kept across restarts (JSON columns are text). */
export interface TaskRow {
  task_id: string;
  session_id: number;
  task_type: string;
  params: string;
  status: string;
  progress: string;
  device_ids: string;
  started_ms: number;
  finished_ms: number | null;
  result: string | null;
  run_id: string | null;
  error: string | null;
}

/** What a task listing shows: not the parameters, result or error, which may be large. */
export type TaskListRow = Pick<TaskRow, "task_id" | "session_id" | "task_type" | "status">;
const TASK_LIST_COLUMNS = "task_id, session_id, task_type, status";

/** One recording (a stream's or a task's HDF5 file). */
export interface RunRow {
  run_id: string;
  kind: "stream" | "task";
  session_id: number;
  name: string;
  task_id: string | null;
  task_type: string | null;
  device_id: string | null;
  status: string;
  file: string;
  started_ms: number;
  finished_ms: number | null;
  notes: string | null;
  params: string;
  metadata: string;
  datasets: string;
  error: string | null;
  bytes: number;
}

/** What a run listing shows: not the parameters, metadata, datasets or error, which may be large. */
export type RunListRow = Pick<
  RunRow,
  | "run_id"
  | "kind"
  | "session_id"
  | "name"
  | "task_id"
  | "task_type"
  | "device_id"
  | "status"
  | "started_ms"
  | "finished_ms"
  | "bytes"
>;
const RUN_LIST_COLUMNS =
  "run_id, kind, session_id, name, task_id, task_type, device_id, status, started_ms, finished_ms, bytes";

export interface ErrorRow {
  scope: "device" | "task";
  id: string;
  stored: string;
  session_id: number;
}

export interface Retention {
  /** Finished tasks kept (newest first); default 1000. */
  tasks?: number;
  /** Finished tasks older than this many days are dropped; default: no age limit. */
  days?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions(session_id INTEGER PRIMARY KEY AUTOINCREMENT, started_ms INTEGER NOT NULL, pid INTEGER, version TEXT, host TEXT);
CREATE TABLE IF NOT EXISTS tasks(task_id TEXT PRIMARY KEY, session_id INTEGER NOT NULL, task_type TEXT NOT NULL, params TEXT NOT NULL,
  status TEXT NOT NULL, progress TEXT NOT NULL, device_ids TEXT NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER,
  result TEXT, run_id TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS errors(scope TEXT NOT NULL, id TEXT NOT NULL, stored TEXT NOT NULL, session_id INTEGER NOT NULL, PRIMARY KEY(scope, id));
CREATE TABLE IF NOT EXISTS runs(run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, session_id INTEGER NOT NULL, name TEXT NOT NULL, task_id TEXT,
  task_type TEXT, device_id TEXT, status TEXT NOT NULL, file TEXT NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER, notes TEXT,
  params TEXT NOT NULL, metadata TEXT NOT NULL, datasets TEXT NOT NULL, error TEXT, bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks(finished_ms);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ms);
`;

/** Batched writes wait at most this long; a crash loses at most this much of the history. */
const FLUSH_MS = 50;
/** Queued writes beyond this are flushed at once rather than waiting for the timer. */
const MAX_QUEUED = 5000;
/** Writes kept while the database cannot be written (the oldest go first beyond this). */
const MAX_KEPT = 50_000;
/** How soon a failed flush is tried again. */
const RETRY_MS = 1000;

export const CATALOGUE_FILE = "catalogue.sqlite";

export class Catalogue {
  readonly db: Database;
  readonly sessionId: number;
  private readonly retention: Required<Pick<Retention, "tasks">> & Retention;
  private queue = new Map<string, () => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** The last flush failed (reported once per failing streak). */
  private failing = false;
  private readonly stmts;

  constructor(file: string, opts: { retention?: Retention; version: string; host: string }) {
    this.db = new Database(file, { create: true, strict: true });
    // Two servers of one lab opening the same directory at once (the launcher starts its profiles
    // together) meet "database is locked" switching to WAL or creating the tables: SQLite does not always
    // wait on its busy handler there (a lock upgrade it would deadlock on), so opening retries for a while.
    this.db.exec("PRAGMA busy_timeout = 2000;");
    openRetrying(() => this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"));
    openRetrying(() => this.db.exec(SCHEMA));
    this.retention = { tasks: 1000, ...opts.retention };
    this.stmts = {
      task: this.db.prepare(`INSERT OR REPLACE INTO tasks VALUES ($task_id, $session_id, $task_type, $params, $status, $progress, $device_ids,
        $started_ms, $finished_ms, $result, $run_id, $error)`),
      run: this.db.prepare(`INSERT OR REPLACE INTO runs VALUES ($run_id, $kind, $session_id, $name, $task_id, $task_type, $device_id, $status,
        $file, $started_ms, $finished_ms, $notes, $params, $metadata, $datasets, $error, $bytes)`),
      error: this.db.prepare("INSERT OR REPLACE INTO errors VALUES ($scope, $id, $stored, $session_id)"),
      dropError: this.db.prepare("DELETE FROM errors WHERE scope = $scope AND id = $id"),
      dropRun: this.db.prepare("DELETE FROM runs WHERE run_id = $run_id"),
    };
    // Whatever was running when its server died did not finish: say so rather than "running". A server
    // still alive (another one sharing this directory) keeps its own.
    const sessions = this.db
      .query(`SELECT DISTINCT s.session_id, s.pid FROM sessions s WHERE s.session_id IN
      (SELECT session_id FROM tasks WHERE status IN ('running', 'paused') UNION SELECT session_id FROM runs WHERE status = 'recording')`)
      .all() as { session_id: number; pid: number }[];
    for (const s of sessions.filter((s) => !processAlive(s.pid))) {
      this.db
        .query("UPDATE tasks SET status = 'interrupted' WHERE status IN ('running', 'paused') AND session_id = ?")
        .run(s.session_id);
      this.db
        .query("UPDATE runs SET status = 'interrupted' WHERE status = 'recording' AND session_id = ?")
        .run(s.session_id);
    }
    const row = this.db
      .query("INSERT INTO sessions(started_ms, pid, version, host) VALUES (?, ?, ?, ?) RETURNING session_id")
      .get(Date.now(), process.pid, opts.version, opts.host) as { session_id: number };
    this.sessionId = row.session_id;
    this.applyRetention();
  }

  // ---------------------------------------------------------------- writes (queued)

  putTask(row: TaskRow): void {
    this.enqueue(`t:${row.task_id}`, () => this.stmts.task.run(row as never));
  }
  putRun(row: RunRow): void {
    this.enqueue(`r:${row.run_id}`, () => this.stmts.run.run(row as never));
  }
  putError(row: ErrorRow): void {
    this.enqueue(`e:${row.scope}:${row.id}`, () => this.stmts.error.run(row as never));
  }
  dropError(scope: "device" | "task", id: string): void {
    this.enqueue(`e:${scope}:${id}`, () => this.stmts.dropError.run({ scope, id }));
  }
  dropRun(runId: string): void {
    this.enqueue(`r:${runId}`, () => this.stmts.dropRun.run({ run_id: runId }));
  }

  private enqueue(key: string, write: () => void): void {
    if (this.closed) return;
    this.queue.delete(key); // the latest state of a row replaces a queued older one
    this.queue.set(key, write);
    if (this.queue.size >= MAX_QUEUED && !this.failing) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Applies every queued write in one transaction. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.size === 0 || this.closed) return;
    const pending = this.queue;
    this.queue = new Map();
    try {
      this.db.transaction(() => {
        for (const w of pending.values()) w();
      })();
      this.failing = false;
    } catch (e) {
      // Kept for the next try (a full disk may be freed); newer states queued meanwhile win.
      for (const [k, w] of pending) if (!this.queue.has(k)) this.queue.set(k, w);
      while (this.queue.size > MAX_KEPT) this.queue.delete(this.queue.keys().next().value!);
      if (!this.failing)
        console.error(
          `labdaemon: could not write ${pending.size} change(s) to the run catalogue (retrying):`,
          (e as Error).message,
        );
      this.failing = true;
      this.timer ??= setTimeout(() => this.flush(), RETRY_MS);
    }
  }

  /** Flushes, then closes the database (the WAL is folded back into the file). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  // ---------------------------------------------------------------- reads

  task(taskId: string): TaskRow | null {
    this.flush();
    return (this.db.query("SELECT * FROM tasks WHERE task_id = ?").get(taskId) as TaskRow | null) ?? null;
  }

  /** Tasks newest first, at most `limit`: the listing's columns only, so a listing never reads results. */
  tasks(limit: number): TaskListRow[] {
    this.flush();
    return this.db
      .query(`SELECT ${TASK_LIST_COLUMNS} FROM tasks ORDER BY started_ms DESC LIMIT ?`)
      .all(limit) as TaskListRow[];
  }

  error(scope: "device" | "task", id: string): ErrorRow | null {
    this.flush();
    return (this.db.query("SELECT * FROM errors WHERE scope = ? AND id = ?").get(scope, id) as ErrorRow | null) ?? null;
  }

  /** The pid of session `sessionId` when it is another process that is still running, else null. */
  livePid(sessionId: number): number | null {
    const s = this.db.query("SELECT pid FROM sessions WHERE session_id = ?").get(sessionId) as { pid: number } | null;
    return s && processAlive(s.pid) ? s.pid : null;
  }

  run(runId: string): RunRow | null {
    this.flush();
    return (this.db.query("SELECT * FROM runs WHERE run_id = ?").get(runId) as RunRow | null) ?? null;
  }

  /** Runs newest first, at most `limit`: the listing's columns only. */
  runs(filter: {
    task_id?: string;
    device_id?: string;
    since_ms?: number;
    until_ms?: number;
    limit: number;
  }): RunListRow[] {
    this.flush();
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.task_id !== undefined) where.push("task_id = ?"), args.push(filter.task_id);
    if (filter.device_id !== undefined) where.push("device_id = ?"), args.push(filter.device_id);
    if (filter.since_ms !== undefined) where.push("started_ms >= ?"), args.push(filter.since_ms);
    if (filter.until_ms !== undefined) where.push("started_ms <= ?"), args.push(filter.until_ms);
    const sql = `SELECT ${RUN_LIST_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY started_ms DESC LIMIT ?`;
    return this.db.query(sql).all(...args, filter.limit) as RunListRow[];
  }

  /** Recordings a crash cut off whose files were never described (no datasets, no size). */
  undescribedRuns(): RunRow[] {
    this.flush();
    return this.db.query("SELECT * FROM runs WHERE status = 'interrupted' AND bytes = 0").all() as RunRow[];
  }

  // ---------------------------------------------------------------- retention

  /**
   * Drops the oldest finished tasks beyond the count and those older than the age limit, with their
   * stored errors. A running task is never dropped. Recordings stay until deleted.
   */
  applyRetention(): void {
    this.flush();
    const { tasks, days } = this.retention;
    const finished = "status NOT IN ('running', 'paused')";
    this.db.transaction(() => {
      const doomed = this.db
        .query(
          `SELECT task_id FROM tasks WHERE ${finished} ORDER BY COALESCE(finished_ms, started_ms) DESC LIMIT -1 OFFSET ?`,
        )
        .all(tasks) as { task_id: string }[];
      if (days !== undefined) {
        doomed.push(
          ...(this.db
            .query(`SELECT task_id FROM tasks WHERE ${finished} AND COALESCE(finished_ms, started_ms) < ?`)
            .all(Date.now() - days * 86_400_000) as { task_id: string }[]),
        );
      }
      const delTask = this.db.prepare("DELETE FROM tasks WHERE task_id = ?");
      const delErr = this.db.prepare("DELETE FROM errors WHERE scope = 'task' AND id = ?");
      for (const { task_id } of doomed) {
        delTask.run(task_id);
        delErr.run(task_id);
      }
    })();
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier session of this very process (a server restarted in-process)
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** How long opening keeps retrying a database another process is setting up at the same moment. */
const OPEN_RETRY_MS = 5000;

/** Runs `step`, again while SQLite answers SQLITE_BUSY, for at most OPEN_RETRY_MS (start-up only). */
function openRetrying(step: () => void): void {
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return step();
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() + wait > deadline) throw e;
      Bun.sleepSync(wait);
    }
  }
}
