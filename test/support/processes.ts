// Processes as Linux's /proc shows them: a process's children by name, and whether one still runs.
import { readdirSync, readFileSync } from "node:fs";

/** The pids of `pid`'s children whose command is `comm` (a child is listed under the thread that made it). */
export function childrenNamed(pid: number, comm: string): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const found: number[] = [];
  for (const t of threads) {
    let children = "";
    try {
      children = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
    } catch {
      continue; // the thread ended
    }
    for (const child of children.split(" ").filter(Boolean).map(Number)) {
      if (stat(child)?.comm === comm) found.push(child);
    }
  }
  return found;
}

/** Whether `pid` is a process that has not ended (a zombie has ended: only its exit status is left). */
export function running(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== "Z";
}

function stat(pid: number): { comm: string; state: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, so the last ')' ends it.
  const close = text.lastIndexOf(")");
  return { comm: text.slice(text.indexOf("(") + 1, close), state: text.slice(close + 2, close + 3) };
}
