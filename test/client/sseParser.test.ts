// The SSE parser against the spec's corner cases, fed in every possible split.
import { expect, test } from "bun:test";
import { SseParser, type SseMessage } from "../../src/client/index.ts";

function parseAll(chunks: string[]): SseMessage[] {
  const out: SseMessage[] = [];
  const p = new SseParser((m) => out.push(m));
  for (const c of chunks) p.feed(c);
  return out;
}

const text =
  ": comment\r\n" +
  'id: 7\r\nevent: device_data\r\ndata: {"a":1}\r\n\r\n' +
  "data: line one\ndata: line two\n\n" +
  "data:no-space\rid: 8\r\r" +
  "event: only-event\n\n" +
  "retry: 1500\nid\ndata\n\n";

test("CR, LF and CRLF line ends, multi-line data, comments, id persistence, retry", () => {
  const ms = parseAll([text]);
  expect(ms).toEqual([
    { event: "device_data", data: '{"a":1}', id: "7" },
    { event: "message", data: "line one\nline two", id: "7" },
    { event: "message", data: "no-space", id: "8" },
    { event: "message", data: "", id: "" },
  ]);
});

test("the same messages whatever the chunk boundaries (including between CR and LF)", () => {
  const whole = parseAll([text]);
  for (let i = 0; i <= text.length; i++) {
    for (const j of [i, Math.min(text.length, i + 1), Math.min(text.length, i + 7)]) {
      expect(parseAll([text.slice(0, i), text.slice(i, j), text.slice(j)])).toEqual(whole);
    }
  }
  expect(parseAll([...text])).toEqual(whole);
});

test("retry advice is kept", () => {
  const p = new SseParser(() => {});
  p.feed("retry: 1500\n\nretry: x\n\n");
  expect(p.retryMs).toBe(1500);
});

test("an event that never ends is refused beyond maxEventChars, whether one endless line or endless data lines", () => {
  const line = new SseParser(() => {}, 1000);
  line.feed("data: ");
  expect(() => {
    for (let i = 0; i < 20; i++) line.feed("x".repeat(100));
  }).toThrow(RangeError);
  const lines = new SseParser(() => {}, 1000);
  expect(() => {
    for (let i = 0; i < 20; i++) lines.feed(`data: ${"y".repeat(100)}\n`);
  }).toThrow(RangeError);
  // Events under the bound, however many, pass: the count is per event.
  const out: SseMessage[] = [];
  const many = new SseParser((m) => out.push(m), 1000);
  for (let i = 0; i < 50; i++) many.feed(`${`data: ${"z".repeat(50)}\n`.repeat(10)}\n`);
  expect(out).toHaveLength(50);
});
