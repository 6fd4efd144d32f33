// The logger: timestamped, levelled lines, text or JSON; written in batches (not one write a line),
// flushed by a short timer, and into a file rotated by size within a bound.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FLUSH_MS, Logger, RotatingFileSink } from "../../src/log/index.ts";
import { isoTime } from "../../src/log/logger.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once `file` holds something; polls on the flush timer's own period, bounded. */
async function written(file: string, boundMs = 5000): Promise<string> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    const text = readFileSync(file, "utf8");
    if (text !== "") return text;
    await Bun.sleep(FLUSH_MS / 2);
  }
  throw new Error(`${file} still empty after ${boundMs} ms`);
}

describe("Logger", () => {
  test("text lines: ISO timestamp, level, message; the level filters; an error keeps its stack", () => {
    const sink = new RotatingFileSink(join(dir, "text.log"), 1 << 20, 1);
    const log = new Logger({ level: "info", sink });
    log.debug("hidden");
    log.info("GET /devices 200 0.3 ms", { method: "GET" });
    log.warn("careful");
    log.error("it broke", new RangeError("out of range"));
    sink.close();
    const lines = readFileSync(join(dir, "text.log"), "utf8").split("\n");
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  GET \/devices 200 0\.3 ms$/);
    expect(lines[1]).toMatch(/^\S+Z WARN  careful$/);
    expect(lines[2]).toMatch(/^\S+Z ERROR it broke: RangeError: out of range$/);
    expect(lines[3]).toStartWith("    at ");
  });

  test("json lines: one object a line with time, level, msg and the fields", () => {
    const sink = new RotatingFileSink(join(dir, "json.log"), 1 << 20, 1);
    const log = new Logger({ level: "debug", format: "json", sink });
    log.info("task t1 (SweepTask) started", { event: "task_started", task_id: "t1" });
    log.error("boom", new TypeError("bad"));
    sink.close();
    const [a, b] = readFileSync(join(dir, "json.log"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(a).toEqual({
      time: expect.stringMatching(/Z$/),
      level: "info",
      msg: "task t1 (SweepTask) started",
      event: "task_started",
      task_id: "t1",
    });
    expect(new Date(a.time).toISOString()).toBe(a.time);
    expect(b).toMatchObject({ level: "error", msg: "boom", error_type: "TypeError", error_message: "bad" });
  });

  test("isoTime is toISOString, reused within a second", () => {
    for (const ms of [0, 7, 42, 999, 1000, 1_764_865_532_123, 1_764_865_532_999, 1_764_865_533_001]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});

describe("batched writes", () => {
  test("a line waits in memory, then the flush timer writes it; flush() writes at once", async () => {
    const file = join(dir, "batch.log");
    const sink = new RotatingFileSink(file, 1 << 20, 1);
    const log = new Logger({ level: "info", sink });
    log.info("first");
    log.info("second");
    expect(readFileSync(file, "utf8")).toBe(""); // no write a line
    expect(
      (await written(file))
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(25)),
    ).toEqual(["INFO  first", "INFO  second"]);
    log.info("third");
    log.flush();
    expect(readFileSync(file, "utf8")).toContain("INFO  third\n");
    sink.close();
  });

  test("rotation keeps at most --log-keep old files, each within the size bound; a line is never split", () => {
    const file = join(dir, "rot.log");
    const sink = new RotatingFileSink(file, 4096, 2);
    const log = new Logger({ level: "info", sink });
    for (let i = 0; i < 1000; i++) log.info(`line ${String(i).padStart(4, "0")} ${"x".repeat(40)}`);
    sink.close();
    for (const f of [file, `${file}.1`, `${file}.2`]) {
      expect(statSync(f).size).toBeLessThanOrEqual(4096);
      expect(readFileSync(f, "utf8")).toMatch(/^(\S+Z INFO  line \d{4} x{40}\n)+$/);
    }
    expect(existsSync(`${file}.3`)).toBe(false);
    expect(readFileSync(file, "utf8").trimEnd().split("\n").at(-1)).toContain("line 0999");
  });

  test("--log-keep 0 keeps no old file; a line longer than a batch is written whole", () => {
    const file = join(dir, "keep0.log");
    const sink = new RotatingFileSink(file, 4096, 0);
    const log = new Logger({ level: "info", sink });
    for (let i = 0; i < 200; i++) log.info(`line ${i} ${"y".repeat(40)}`);
    log.info("z".repeat(5000));
    sink.close();
    expect(existsSync(`${file}.1`)).toBe(false);
    expect(readFileSync(file, "utf8")).toMatch(/^\S+Z INFO  z{5000}\n$/);
  });
});
