// What a data file records about where it came from: version, host, configuration and its hash, the git
// commit of the configuration's folder (and whether the tree was dirty), the task class's source hash.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import pkg from "../../package.json" with { type: "json" };

export interface Provenance {
  labdaemon_version: string;
  host: string;
  /** The configuration file, or a label such as "(built-in simulated lab)". */
  config_file: string;
  config_profile: string;
  /** sha256 of the configuration file's bytes; "" when there is no file. */
  config_sha256: string;
  /** HEAD of the git repository holding the configuration; "" when it is not in one. */
  git_commit: string;
  /** The working tree had uncommitted changes when the server started. */
  git_dirty: boolean;
}

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** Read once at start: a run's provenance is that of the configuration the server was started with. */
export function provenanceOf(configFile: string | null, profile: string | null): Provenance {
  let configSha = "";
  let git = { commit: "", dirty: false };
  if (configFile) {
    try {
      configSha = sha256(readFileSync(configFile));
    } catch {
      // a file that cannot be read now was read at start; its hash is simply unknown
    }
    git = gitState(dirname(configFile));
  }
  return {
    labdaemon_version: pkg.version,
    host: hostname(),
    config_file: configFile ?? "",
    config_profile: profile ?? "",
    config_sha256: configSha,
    git_commit: git.commit,
    git_dirty: git.dirty,
  };
}

/** `git` is optional on a lab PC: without it (or outside a repository) the commit is "". */
function gitState(dir: string): { commit: string; dirty: boolean } {
  try {
    const head = Bun.spawnSync(["git", "-C", dir, "rev-parse", "HEAD"], {
      stdout: "pipe",
      stderr: "ignore",
      timeout: 5000,
    });
    if (head.exitCode !== 0) return { commit: "", dirty: false };
    const status = Bun.spawnSync(["git", "-C", dir, "status", "--porcelain", "--untracked-files=no"], {
      stdout: "pipe",
      stderr: "ignore",
      timeout: 5000,
    });
    return { commit: head.stdout.toString().trim(), dirty: status.stdout.toString().trim() !== "" };
  } catch {
    return { commit: "", dirty: false };
  }
}

/** sha256 of a class's source text, so a result can be traced to the code that made it. */
export function sourceHash(cls: unknown): string {
  return typeof cls === "function" ? sha256(Function.prototype.toString.call(cls)) : "";
}
