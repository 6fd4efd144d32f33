// CSV of a run for spreadsheets: the one dataset a run holds (an {x, y} series gives two columns).
import { BusyError, InvalidRequestError } from "../core/errors.ts";
import type { RunRow } from "./catalogue.ts";
import type { H5Writer } from "./writer.ts";
import type { DatasetInfo } from "./writerProtocol.ts";
import { clip } from "../core/clip.ts";

/** Larger datasets are for HDF5 readers; a spreadsheet would not open them anyway. */
export const MAX_CSV_ROWS = 2_000_000;
/** A stream recording's bookkeeping, not data a user chose. */
const BOOKKEEPING = /^(batch_offset|batch_sequence|batch_time|return_value_json)$/;

/** The columns for `dataset` (or the run's only one); InvalidRequestError names the choices otherwise. */
export function csvColumns(row: RunRow, dataset?: string): string[] {
  const all = (JSON.parse(row.datasets) as DatasetInfo[]).filter((d) => d.shape.length === 1 && d.dtype !== "string");
  const groups = new Map<string, string[]>();
  for (const d of all) {
    if (BOOKKEEPING.test(d.name)) continue;
    const m = /^(.*)\/(x|y)$/.exec(d.name);
    const key = m ? m[1]! : d.name;
    groups.set(key, [...(groups.get(key) ?? []), d.name].sort());
  }
  const choices = [...groups.keys()];
  const pick = dataset ?? (choices.length === 1 ? choices[0] : undefined);
  const cols = pick === undefined ? undefined : groups.get(pick);
  if (!cols) {
    throw new InvalidRequestError(
      dataset === undefined
        ? `run '${row.run_id}' holds ${choices.length} datasets; choose one with dataset= (${choices.slice(0, 20).join(", ")})`
        : `run '${row.run_id}' has no 1-D dataset '${clip(dataset, 80)}' (${choices.slice(0, 20).join(", ")})`,
      { run_id: row.run_id, datasets: choices.slice(0, 50) },
    );
  }
  return cols;
}

/** CSV exports under way at once (each holds its file open on the writer thread, a slice of text at a
 * time); more are refused, so a crowd of downloads cannot pile up work on the recordings' thread. */
export const MAX_CSV_AT_ONCE = 2;
let exporting = 0;

/** The CSV as a stream read slice by slice from the file (H5Writer.csv); bad choices throw before it starts. */
export async function csvOf(
  writer: H5Writer,
  row: RunRow,
  dataset?: string,
  opts: { stallMs?: number } = {},
): Promise<ReadableStream<Uint8Array>> {
  const cols = csvColumns(row, dataset);
  if (exporting >= MAX_CSV_AT_ONCE) {
    throw new BusyError(
      `${exporting} CSV exports are under way; try again shortly, or download the run's HDF5 file (without format=csv)`,
      { run_id: row.run_id },
    );
  }
  exporting++;
  // The slot is given back when the stream ends, however it ends (the writer calls onEnd exactly once).
  try {
    return await writer.csv(row.file, cols, MAX_CSV_ROWS, { ...opts, onEnd: () => exporting-- });
  } catch (e) {
    throw new InvalidRequestError(`cannot make CSV of run '${row.run_id}': ${(e as Error).message}`, {
      run_id: row.run_id,
    });
  }
}
