// The HDF5 writer on its own. CSV exports are read from the file a slice at a time on the writer thread, as
// the client takes them: neither the whole text nor a slow (or stalled) reader holds memory or the
// recordings' writes up. Staging buffers grow with the data a dataset gets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { H5Writer } from "../../src/data/writer.ts";
import { tempDataDir } from "./support.ts";

const ROWS = 300_000;
const dir = tempDataDir();
const writer = new H5Writer();
const big = join(dir, "big.h5");

async function writeFile(path: string, data: Record<string, Float64Array>): Promise<void> {
  const { file, opened } = writer.open(path, {}, (m) => {
    throw new Error(m);
  });
  expect(await opened).toBeNull();
  for (const [name, values] of Object.entries(data)) writer.append(file, name, values);
  await writer.close(file, {});
}

beforeAll(async () => {
  await writer.whenReady();
  const x = Float64Array.from({ length: ROWS }, (_, i) => i);
  const y = Float64Array.from({ length: ROWS }, (_, i) => i / 4);
  await writeFile(big, { "curve/x": x, "curve/y": y });
});
afterAll(() => {
  writer.terminate();
  rmSync(dir, { recursive: true, force: true });
});

describe("CSV export", () => {
  test("arrives in slices, each far smaller than the whole text, and the text is every row in order", async () => {
    const stream = await writer.csv(big, ["curve/x", "curve/y"], ROWS);
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of stream) {
      sizes.push(chunk.byteLength);
      parts.push(chunk);
    }
    const text = Buffer.concat(parts).toString("utf8");
    const lines = text.split("\n");
    expect(lines[0]).toBe("curve/x,curve/y");
    expect(lines.length).toBe(ROWS + 2); // header, rows, and the empty string after the last newline
    for (const i of [0, 1, 65_535, 65_536, ROWS - 1]) expect(lines[i + 1]).toBe(`${i},${i / 4}`);
    // The whole text was never one piece: no slice holds more than a quarter of it.
    expect(sizes.length).toBeGreaterThan(4);
    expect(Math.max(...sizes)).toBeLessThan(text.length / 4);
  });

  test("while a client holds a download half-read, a recording is written and closed, and the download then finishes", async () => {
    let ended = false;
    const stream = await writer.csv(big, ["curve/x"], ROWS, { onEnd: () => (ended = true) });
    const reader = stream.getReader();
    let received = (await reader.read()).value!.byteLength;
    received += (await reader.read()).value!.byteLength;
    // Before, the worker made the whole text in one go; now this file is written between two slices.
    const other = join(dir, "other.h5");
    await writeFile(other, { v: Float64Array.from([1, 2, 3]) });
    expect(ended).toBe(false);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(ended).toBe(true);
    const expected =
      "curve/x\n".length + Array.from({ length: ROWS }, (_, i) => `${i}\n`.length).reduce((a, b) => a + b);
    expect(received).toBe(expected);
    const small = await writer.csv(other, ["v"], 10);
    expect(await new Response(small).text()).toBe("v\n1\n2\n3\n");
  });

  test("a reader that stops taking slices is cut off after the stall time, and its export is ended", async () => {
    let markEnded!: () => void;
    const ended = new Promise<void>((r) => (markEnded = r));
    const stream = await writer.csv(big, ["curve/x", "curve/y"], ROWS, { stallMs: 300, onEnd: markEnded });
    const reader = stream.getReader();
    await reader.read(); // the header, then nothing more is asked for
    await ended;
    expect(await reader.read().catch((e: Error) => e.message)).toMatch(/took nothing for 300 ms/);
  });

  test("a cancelled download ends its export; a refused one (too many rows, unknown dataset) says why", async () => {
    let markEnded!: () => void;
    const ended = new Promise<void>((r) => (markEnded = r));
    const stream = await writer.csv(big, ["curve/x"], ROWS, { onEnd: markEnded });
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel();
    await ended;
    expect(await writer.csv(big, ["curve/x"], 10).catch((e: Error) => e.message)).toMatch(
      /has 300000 rows; CSV is offered up to 10/,
    );
    expect(await writer.csv(big, ["nope"], ROWS).catch((e: Error) => e.message)).toMatch(/'nope' is not a 1-D dataset/);
  });
});

describe("staging", () => {
  test("a file of a thousand small datasets stages kilobytes for each, not a full buffer each; big ones still grow to it", async () => {
    const path = join(dir, "many.h5");
    const { file, opened } = writer.open(path, {}, (m) => {
      throw new Error(m);
    });
    expect(await opened).toBeNull();
    const before = writer.stagedCapacity;
    for (let i = 0; i < 1000; i++) writer.append(file, `point_${i}`, Float64Array.from([i, i + 0.5]));
    // 1024 float64 each (8 KiB): before, each name took 4 MiB at once (4 GiB for this file).
    expect(writer.stagedCapacity - before).toBe(1000 * 8192);
    writer.append(file, "trace", new Float64Array(3_000_000).fill(1.5));
    const done = await writer.close(file, {});
    expect(writer.stagedCapacity).toBe(before);
    expect(done.datasets.length).toBe(1001);
    expect(done.datasets.find((d) => d.name === "trace")?.shape).toEqual([3_000_000]);
    const trace = await new Response(await writer.csv(path, ["trace"], 3_000_000)).text();
    expect(trace.length).toBe("trace\n".length + 3_000_000 * "1.5\n".length);
    const one = await new Response(await writer.csv(path, ["point_999"], 10)).text();
    expect(one).toBe("point_999\n999\n999.5\n");
  });
});
