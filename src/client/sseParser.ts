// An incremental text/event-stream parser (WHATWG HTML §9.2.6): lines end in CR, LF or CRLF, even
// when a chunk boundary falls between CR and LF; `data` lines join with LF; `id` persists across events.

export interface SseMessage {
  /** `message` when the event had no `event:` field. */
  event: string;
  data: string;
  /** The last event id seen on this stream (the spec's "last event ID buffer"), if any. */
  id: string | undefined;
}

/** Larger than any event the server writes (its queues hold 8 MiB), small enough to bound the client. */
const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;
/** What one held `data:` line costs beyond its characters, so an event of endless empty lines is bounded too. */
const LINE_COST = 32;

export class SseParser {
  /** Pieces of a line that has not ended yet (a long line can span many chunks). */
  private partial: string[] = [];
  private partialChars = 0;
  private skipLeadingLF = false;
  private data: string[] = [];
  private dataChars = 0;
  private event = "";
  private sawData = false;
  lastEventId: string | undefined;
  /** The server's `retry:` advice, ms. */
  retryMs: number | undefined;

  /** `feed` throws once one event grows beyond `maxEventChars`: a stream that never ends its event is broken. */
  constructor(
    private readonly onMessage: (m: SseMessage) => void,
    private readonly maxEventChars = DEFAULT_MAX_EVENT_CHARS,
  ) {}

  feed(chunk: string): void {
    let start = 0;
    const n = chunk.length;
    if (n === 0) return;
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (chunk.charCodeAt(0) === 10) start = 1;
    }
    // CR is rare on our streams: find it once per chunk, not once per line.
    let cr = chunk.indexOf("\r", start);
    while (start < n) {
      const lf = chunk.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < n) next = chunk.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        else {
          next = n;
          this.skipLeadingLF = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        this.partialChars += n - start;
        this.checkSize();
        this.partial.push(chunk.slice(start));
        return;
      }
      let line = chunk.slice(start, end);
      if (this.partial.length) {
        this.partial.push(line);
        line = this.partial.join("");
        this.partial = [];
        this.partialChars = 0;
      }
      this.line(line);
      start = next;
    }
  }

  private line(line: string): void {
    if (line.length === 0) return this.dispatch();
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(":");
    let name: string;
    let value: string;
    if (colon === -1) {
      name = line;
      value = "";
    } else {
      name = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (name) {
      case "data":
        this.dataChars += value.length + LINE_COST;
        this.checkSize();
        this.data.push(value);
        this.sawData = true;
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }

  private checkSize(): void {
    if (this.partialChars + this.dataChars <= this.maxEventChars) return;
    this.partial = [];
    this.data = [];
    this.partialChars = this.dataChars = 0;
    throw new RangeError(`SSE event larger than ${this.maxEventChars} characters`);
  }

  private dispatch(): void {
    if (!this.sawData) {
      this.event = "";
      return;
    }
    const m: SseMessage = { event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId };
    this.data = [];
    this.dataChars = 0;
    this.event = "";
    this.sawData = false;
    this.onMessage(m);
  }
}
