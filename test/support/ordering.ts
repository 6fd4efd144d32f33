// 1,000 setter/getter pairs from concurrent callers on one instrument, issued back to back with no await
// between the write and its query: only per-resource ordering keeps each answer paired with its setting.
// Open `inst` with a long timeout: on a loaded machine one query of 2,000 may wait seconds, and a timed-out
// query's late answer would then pair with the next one, here and in every later test on that port.
import { expect } from "bun:test";
import type { MessageInstrument } from "../../src/io/index.ts";

export async function expectOrderedQueries(inst: MessageInstrument, callers = 4, each = 250): Promise<void> {
  const total = callers * each;
  const runs = Array.from({ length: callers }, (_, c) =>
    Promise.all(
      Array.from({ length: each }, async (_, i) => {
        const v = (c * each + i) / total;
        const written = inst.write(`VOLT ${v}`);
        const answer = inst.query("VOLT?");
        await written;
        return [v.toFixed(3), await answer] as const;
      }),
    ),
  );
  const results = (await Promise.all(runs)).flat();
  expect(results.length).toBe(total);
  expect(results.filter(([want, got]) => want !== got)).toEqual([]);
}
