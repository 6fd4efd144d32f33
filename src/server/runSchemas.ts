// Wire shapes of the data routes (recordings, the run catalogue), written once for routes, docs and client.
import { t, type Static } from "elysia";

const Timestamp = t.String({ description: "ISO-8601 UTC with milliseconds" });

export const RunStatusSchema = t.Union(
  [
    t.Literal("recording"),
    t.Literal("completed"),
    t.Literal("failed"),
    t.Literal("cancelled"),
    t.Literal("interrupted"),
  ],
  {
    description:
      "interrupted: the server stopped (or died) while it was being written; the file holds what was flushed",
  },
);

export const DatasetInfoSchema = t.Object({
  name: t.String({ description: "Path in the HDF5 file, e.g. samples or sweep/x" }),
  shape: t.Array(t.Number()),
  dtype: t.String({ description: "float64, float32, int16 … or string" }),
});

export const RunSummarySchema = t.Object({
  run_id: t.String(),
  kind: t.Union([t.Literal("stream"), t.Literal("task")]),
  name: t.String(),
  status: RunStatusSchema,
  task_id: t.Union([t.String(), t.Null()]),
  task_type: t.Union([t.String(), t.Null()]),
  device_id: t.Union([t.String(), t.Null()]),
  started_at: Timestamp,
  finished_at: t.Union([Timestamp, t.Null()]),
  bytes: t.Number({ description: "Size of the file once closed" }),
  earlier_run: t.Boolean({ description: "Made by an earlier run of the server" }),
});
export type RunSummary = Static<typeof RunSummarySchema>;

export const RunListSchema = t.Object({ runs: t.Array(RunSummarySchema) });
export type RunList = Static<typeof RunListSchema>;

export const RunDetailSchema = t.Composite([
  RunSummarySchema,
  t.Object({
    notes: t.Union([t.String(), t.Null()]),
    params: t.Unknown({ description: "The task's parameters (task runs)" }),
    metadata: t.Record(t.String(), t.Unknown(), {
      description: "The file's root attributes: provenance, times, counters",
    }),
    datasets: t.Array(DatasetInfoSchema),
    error: t.Union([t.String(), t.Null()], {
      description: "Why the recording stopped early (disk full, folder not writable …)",
    }),
    file: t.String({ description: "Download path of the HDF5 file" }),
  }),
]);
export type RunDetail = Static<typeof RunDetailSchema>;

export const RecordRequestSchema = t.Object({
  name: t.Optional(
    t.String({ description: "Label in the run id: letters, digits, '_', '.', '-' (up to 64)", examples: ["scan_a"] }),
  ),
  duration_s: t.Optional(t.Number({ description: "Stop by itself after this many seconds" })),
  notes: t.Optional(t.String({ description: "Free text kept in the file's metadata", maxLength: 10_000 })),
});
export type RecordRequest = { name?: string; duration_s?: number; notes?: string };

export const RecordResponseSchema = t.Object({
  run_id: t.String(),
  device_id: t.String(),
  status: t.Literal("recording"),
});
export type RecordResponse = Static<typeof RecordResponseSchema>;

export const ResubmitRequestSchema = t.Object({
  task_id: t.Optional(t.String({ description: "Id of the new task; default <old id>-<n>" })),
});

export const DeleteRunResponseSchema = t.Object({ status: t.Literal("deleted"), run_id: t.String() });
export type DeleteRunResponse = Static<typeof DeleteRunResponseSchema>;
