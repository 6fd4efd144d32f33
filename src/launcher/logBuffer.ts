// A server's output as numbered lines: the last MAX_LOG_LINES kept, each with a level guessed from its
// words, handed to live subscribers as they arrive.
import type { LineLevel, LogLine } from "./wire.ts";

export const MAX_LOG_LINES = 5000;
/** Longer lines are cut: one runaway line must not hold megabytes in every subscriber's queue. */
const MAX_LINE_CHARS = 4000;

export type { LineLevel, LogLine } from "./wire.ts";

/** A request line ends with its status ("GET /x 503 1.2 ms"); otherwise the words decide. */
export function levelOf(text: string): LineLevel {
  const status = / ([1-5]\d\d) \d+(?:\.\d+)? ms$/.exec(text);
  if (status) return status[1]!.startsWith("5") ? "error" : status[1]!.startsWith("4") ? "warn" : "info";
  if (/\b(?:error|failed|fatal|cannot|exception|panic)\b|Error:/i.test(text)) return "error";
  if (/\bwarn(?:ing)?\b|without a token/i.test(text)) return "warn";
  return "info";
}

export class LogBuffer {
  private readonly lines: LogLine[] = [];
  private nextSeq = 1;
  private partial = "";
  private readonly subscribers = new Set<(line: LogLine) => void>();

  /** Raw output; lines are cut at LF, a trailing partial line waits for the rest. */
  write(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop()!;
    if (this.partial.length > MAX_LINE_CHARS) {
      parts.push(this.partial);
      this.partial = "";
    }
    for (const p of parts) this.add(p.replace(/\r$/, ""));
  }

  /** What is left of an unterminated last line (the process ended). */
  flush(): void {
    if (this.partial !== "") this.add(this.partial);
    this.partial = "";
  }

  /** A line from the launcher itself about this server (started, exit code …). */
  note(text: string): void {
    this.flush();
    this.add(`[launcher] ${text}`);
  }

  private add(raw: string): void {
    const text = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}… (${raw.length} chars)` : raw;
    const line: LogLine = { seq: this.nextSeq++, time: new Date().toISOString(), level: levelOf(text), text };
    this.lines.push(line);
    if (this.lines.length > MAX_LOG_LINES) this.lines.splice(0, this.lines.length - MAX_LOG_LINES);
    for (const s of this.subscribers) {
      try {
        s(line);
      } catch (e) {
        // One failing reader must not cost the others the line, nor the log's writer (the file's tail) its pump.
        console.error(`labdaemon launcher: a log reader failed: ${(e as Error).message}`);
      }
    }
  }

  /** Kept lines after `afterSeq` (all of them by default). */
  since(afterSeq = 0): LogLine[] {
    const i = this.lines.findIndex((l) => l.seq > afterSeq);
    return i < 0 ? [] : this.lines.slice(i);
  }

  tail(n: number): string[] {
    return this.lines.slice(-n).map((l) => l.text);
  }

  subscribe(fn: (line: LogLine) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
