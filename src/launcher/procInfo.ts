// What Linux's /proc says about a process or a listening port: enough to prove a PID is still the
// process a record names (PID reuse) and to name who holds a port. Elsewhere every answer is "unknown".
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Whether a process with this PID exists (signal 0 only checks; EPERM means it exists under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** /proc/PID/stat split after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/**
 * The process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with the PID it names
 * one process for the life of the machine, so a reused PID never passes for the one recorded.
 */
export function startTicks(pid: number): string | null {
  const f = statFields(pid);
  // Fields after the name start at field 3 (state): field 22 is index 19; a zombie has exited already.
  if (!f || f[0] === "Z") return null;
  return f[19] ?? null;
}

/** User + system CPU ticks this process has used (fields 14 and 15). */
export function cpuTicks(pid: number | "self" = "self"): number | null {
  const f = statFields(pid as number);
  return f ? Number(f[11]) + Number(f[12]) : null;
}

export function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((s) => s !== "");
  } catch {
    return null;
  }
}

/** One variable of another process's environment (readable for our own user's processes only). */
export function environValue(pid: number, name: string): string | null {
  try {
    const prefix = `${name}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .find((e) => e.startsWith(prefix));
    return entry === undefined ? null : entry.slice(prefix.length);
  } catch {
    return null;
  }
}

export interface PortHolder {
  pid: number;
  command: string;
}

/**
 * The process listening on a TCP port, from /proc/net/tcp{,6} (socket inode) and /proc/PID/fd (who holds
 * that inode). Null when no one visible listens, or the holder belongs to another user.
 */
export function portHolder(port: number): PortHolder | null {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the 10th column.
      if (cols.length < 10 || cols[3] !== "0A") continue;
      if (parseInt(cols[1]!.split(":")[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!))
        return { pid: Number(pid), command: (commandLine(Number(pid)) ?? []).join(" ") || "?" };
    }
  }
  return null;
}
