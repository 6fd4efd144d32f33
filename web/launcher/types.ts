// The launcher API's wire shapes as the page reads them (src/launcher/supervisor.ts writes them).

export type ServerState = "starting" | "healthy" | "unhealthy" | "stopping" | "stopped" | "crashed";

export interface Profile {
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
  needs_restart: boolean;
  removed: boolean;
  last_lines?: string[];
}

export interface Orphan {
  id: string;
  profile: string;
  config: string;
  pid: number;
  port: number | null;
  started_at: string;
  status: "running" | "stale";
  reason?: string;
  adoptable: boolean;
}

export interface ConfigProblem {
  file?: string;
  line?: number;
  column?: number;
  problem?: string;
}

export interface ConfigInfo {
  file: string | null;
  exists: boolean;
  via?: string;
  format?: string;
  text?: string;
  error?: ConfigProblem | null;
  searched?: string[];
  suggested?: string;
}

export interface LogLine {
  seq: number;
  time: string;
  level: "error" | "warn" | "info";
  text: string;
}
