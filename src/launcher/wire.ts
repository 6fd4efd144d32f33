// The launcher API's JSON shapes, written once: the launcher builds them, its page (web/launcher) reads
// them. Types only, no imports, so the page's compiler (DOM, no bun) can check against the same file.

export type ServerState = "starting" | "healthy" | "unhealthy" | "stopping" | "stopped" | "crashed";

/**
 * How severe a server's output line looks, guessed from its text (logBuffer.ts levelOf). Not the server's
 * LogLevel (log/levels.ts), which sets what a server writes: a child's line carries no level of its own.
 */
export type LineLevel = "error" | "warn" | "info";

/** One line of a server's output, as kept and as sent on its log stream. */
export interface LogLine {
  seq: number;
  time: string;
  level: LineLevel;
  text: string;
}

export interface ProfileView {
  name: string;
  description: string;
  host: string;
  port: number;
  devices: string[];
  state: ServerState;
  pid: number | null;
  healthy: boolean;
  started_at: string | null;
  uptime_s: number | null;
  exit_code: number | null;
  keep_running: boolean;
  adopted: boolean;
  /** The profile's section changed (or went) since this server started from it. */
  needs_restart: boolean;
  /** No longer in the configuration, still running. */
  removed: boolean;
  /** A crash's last log lines. */
  last_lines?: string[];
}

export interface OrphanView {
  id: string;
  profile: string;
  config: string;
  pid: number;
  port: number | null;
  started_at: string;
  /** running: provably the server recorded (it may be adopted or stopped); stale: only the record is left. */
  status: "running" | "stale";
  reason?: string;
  /** Adoption needs the profile in this launcher's configuration. */
  adoptable: boolean;
}

/** Where a configuration fails to load or validate (the 422's context, GET /api/config's `error`). */
export interface ConfigProblem {
  file?: string;
  line?: number;
  column?: number;
  problem?: string;
}

/** POST /api/config/check's answer: every problem of the posted text, each at its line and column. */
export interface ConfigCheck {
  /** "schema": the whole shape was checked; "syntax": only whether it parses (a TypeScript config). */
  checked: "schema" | "syntax";
  problems: Array<{ line?: number; column?: number; path?: string; message: string }>;
}
