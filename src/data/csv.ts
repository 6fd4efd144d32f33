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

/** CSV texts made at once: each is built whole (up to MAX_CSV_ROWS rows, a few hundred MB while it is
 * built); more wait for nobody but are refused, so parallel downloads cannot exhaust memory. */
export const MAX_CSV_AT_ONCE = 2;
let building = 0;

export async function csvOf(writer: H5Writer, row: RunRow, dataset?: string): Promise<string> {
  const cols = csvColumns(row, dataset);
  if (building >= MAX_CSV_AT_ONCE) {
    throw new BusyError(
      `${building} CSV exports are being made; try again shortly, or download the run's HDF5 file (without format=csv)`,
      { run_id: row.run_id },
    );
  }
  building++;
  try {
    return await writer.csv(row.file, cols, MAX_CSV_ROWS);
  } catch (e) {
    throw new InvalidRequestError(`cannot make CSV of run '${row.run_id}': ${(e as Error).message}`, {
      run_id: row.run_id,
    });
  } finally {
    building--;
  }
}
