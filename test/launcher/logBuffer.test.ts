// A server's log as the launcher keeps it: lines cut at LF across chunks, the last 5,000 kept, a level
// guessed per line, and subscribers fed as lines arrive.
import { describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogBuffer, levelOf, MAX_LOG_LINES } from "../../src/launcher/logBuffer.ts";
import { LogTail, MAX_LOG_FILE_BYTES } from "../../src/launcher/logTail.ts";

describe("LogBuffer", () => {
  test("lines split across chunks are joined; CRLF is trimmed; a partial last line waits", () => {
    const b = new LogBuffer();
    b.write("first li");
    b.write("ne\r\nsecond\nthi");
    expect(b.since().map((l) => l.text)).toEqual(["first line", "second"]);
    b.flush();
    expect(b.tail(1)).toEqual(["thi"]);
  });

  test("keeps the last 5,000 lines, numbered on", () => {
    const b = new LogBuffer();
    b.write(`${Array.from({ length: MAX_LOG_LINES + 10 }, (_, i) => `line ${i}`).join("\n")}\n`);
    const kept = b.since();
    expect(kept.length).toBe(MAX_LOG_LINES);
    expect(kept[0]!.text).toBe("line 10");
    expect(kept[0]!.seq).toBe(11);
    expect(b.since(MAX_LOG_LINES + 8).map((l) => l.text)).toEqual([
      `line ${MAX_LOG_LINES + 8}`,
      `line ${MAX_LOG_LINES + 9}`,
    ]);
  });

  test("levels: request status, then the words", () => {
    expect(levelOf("GET /devices 200 0.4 ms")).toBe("info");
    expect(levelOf("POST /devices/x/call 404 1.0 ms")).toBe("warn");
    expect(levelOf("POST /devices/x/call 500 12.5 ms")).toBe("error");
    expect(levelOf("labdaemon: lab.yaml:3:5: device 'dmm' failed to connect")).toBe("error");
    expect(levelOf("labdaemon: listening on 0.0.0.0 without a token: anyone …")).toBe("warn");
    expect(levelOf("labdaemon serving from lab.yaml: 1 device on http://127.0.0.1:5000")).toBe("info");
  });

  test("subscribers get each line once, and no more after unsubscribing", () => {
    const b = new LogBuffer();
    const got: string[] = [];
    const off = b.subscribe((l) => got.push(l.text));
    b.write("a\nb\n");
    off();
    b.write("c\n");
    expect(got).toEqual(["a", "b"]);
  });

  test("a subscriber that throws costs neither the other subscribers nor the writer a line", () => {
    const b = new LogBuffer();
    const got: string[] = [];
    b.subscribe(() => {
      throw new Error("ENOSPC: no space left on device");
    });
    b.subscribe((l) => got.push(l.text));
    expect(() => b.write("a\nb\n")).not.toThrow();
    expect(got).toEqual(["a", "b"]);
    expect(b.tail(2)).toEqual(["a", "b"]);
  });
});

describe("LogTail", () => {
  test("a log file past its bound is emptied once read; the lines are kept in the buffer", () => {
    const dir = mkdtempSync(join(tmpdir(), "ld-logtail-"));
    try {
      const file = join(dir, "s.log");
      writeFileSync(file, "");
      const b = new LogBuffer();
      const tail = new LogTail(file, b);
      const line = `${"x".repeat(1023)}\n`;
      appendFileSync(file, line.repeat(MAX_LOG_FILE_BYTES / 1024 + 1));
      tail.pump();
      expect(statSync(file).size).toBe(0);
      appendFileSync(file, "after\n");
      tail.pump();
      expect(b.tail(1)).toEqual(["after"]);
      tail.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a file that cannot be read or emptied does not throw out of pump(); reading resumes where it stopped", () => {
    const dir = mkdtempSync(join(tmpdir(), "ld-logtail-"));
    const t = (tail: LogTail) => tail as unknown as { fd: number };
    try {
      const file = join(dir, "s.log");
      writeFileSync(file, "");
      const b = new LogBuffer();
      const tail = new LogTail(file, b);
      const own = t(tail).fd;
      // The OS refuses the read (EBADF on a write-only descriptor): nothing is lost, it is read later.
      const writeOnly = openSync(file, "a");
      appendFileSync(file, "one\n");
      t(tail).fd = writeOnly;
      expect(() => tail.pump()).not.toThrow();
      t(tail).fd = own;
      tail.pump();
      expect(b.tail(1)).toEqual(["one"]);
      // The OS refuses to empty it (a read-only descriptor): the lines are kept, the file grows on.
      const readOnly = openSync(file, "r");
      t(tail).fd = readOnly;
      const line = `${"x".repeat(1023)}\n`;
      appendFileSync(file, `${line.repeat(MAX_LOG_FILE_BYTES / 1024 + 1)}two\n`);
      expect(() => tail.pump()).not.toThrow();
      expect(b.tail(1)).toEqual(["two"]);
      expect(statSync(file).size).toBeGreaterThan(MAX_LOG_FILE_BYTES);
      t(tail).fd = own;
      tail.pump();
      expect(statSync(file).size).toBe(0);
      for (const fd of [writeOnly, readOnly]) closeSync(fd);
      tail.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
