// /runs and POST /devices/{id}/record: recordings (HDF5 files) and the run catalogue, when the server has
// a data directory.
import { Elysia, t } from "elysia";
import { basename } from "node:path";
import { checkId } from "../../core/ids.ts";
import { LabDaemonError } from "../../core/errors.ts";
import { isoMillis } from "../../core/events.ts";
import type { RunListRow, RunRow } from "../../data/catalogue.ts";
import type { DataStore } from "../../data/dataStore.ts";
import { RUN_ID } from "../../data/names.ts";
import { notFound as runNotFound, RunFileError, RunNotFoundError, RunStateError } from "../../data/runErrors.ts";
import { HttpError, invalid } from "../errors.ts";
import {
  DeleteRunResponseSchema,
  RecordRequestSchema,
  RecordResponseSchema,
  ResubmitRequestSchema,
  RunDetailSchema,
  RunListSchema,
  type RunDetail,
  type RunSummary,
} from "../runSchemas.ts";
import { ErrorEnvelopeSchema, ExecuteTaskResponseSchema } from "../schemas.ts";
import { leaseIdOf, objectBody, type RouteContext } from "./context.ts";
import { doc } from "./doc.ts";
import { clip } from "../../core/clip.ts";

const E = ErrorEnvelopeSchema;
/** The most runs one listing returns. */
const MAX_LIST = 1000;

/** Run errors in the contract's envelope: unknown run → 404, wrong state → 409, no file → 500. */
function asHttp(e: unknown): unknown {
  if (e instanceof RunNotFoundError) return new HttpError(404, "RunNotFound", e.message, e.context);
  if (e instanceof RunFileError) return new HttpError(500, "RunFileError", e.message, e.context);
  if (e instanceof RunStateError)
    return new HttpError(
      409,
      e.context.status === undefined ? "RunRecording" : "RunNotRecording",
      e.message,
      e.context,
    );
  return e;
}

async function http<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asHttp(e);
  }
}

/**
 * `submit` runs a POST /tasks body through the server's own route, so a resubmitted task is claimed, checked
 * and answered exactly as a new one.
 */
export function runRoutes(
  ctx: RouteContext,
  data: DataStore,
  submit: (body: Record<string, unknown>, leaseId?: string) => Promise<Response>,
) {
  const { catalogue, recordings } = data;

  const summary = (r: RunListRow): RunSummary => ({
    run_id: r.run_id,
    kind: r.kind,
    name: r.name,
    status: r.status as RunSummary["status"],
    task_id: r.task_id,
    task_type: r.task_type,
    device_id: r.device_id,
    started_at: isoMillis(r.started_ms),
    finished_at: r.finished_ms === null ? null : isoMillis(r.finished_ms),
    bytes: r.bytes,
    earlier_run: r.session_id !== catalogue.sessionId,
  });

  const detail = (r: RunRow): RunDetail => ({
    ...summary(r),
    notes: r.notes,
    params: JSON.parse(r.params),
    metadata: JSON.parse(r.metadata),
    datasets: recordings.liveDatasets(r.run_id) ?? JSON.parse(r.datasets),
    error: r.error,
    file: `/runs/${r.run_id}/file`,
  });

  const find = (runId: string): RunRow => {
    const row = RUN_ID.test(runId) ? (recordings.row(runId) ?? catalogue.run(runId)) : null;
    if (!row) throw asHttp(runNotFound(runId));
    return row;
  };

  const time = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === "") return undefined;
    const ms = /^\d+(\.\d+)?$/.test(String(v)) ? Number(v) * 1000 : Date.parse(String(v));
    if (!Number.isFinite(ms))
      throw invalid(`${name} must be an ISO-8601 time or seconds since the epoch`, { [name]: clip(String(v), 80) });
    return ms;
  };

  return new Elysia()
    .post(
      "/devices/:device_id/record",
      async ({ params, body, request }) => {
        const b = body === undefined || body === null ? {} : objectBody(body);
        // Recording starts the device's stream when it is not running: a command, so a lease applies.
        ctx.daemon.assertClientMayStartStream(params.device_id, leaseIdOf(request));
        for (const k of Object.keys(b))
          if (!["name", "duration_s", "notes"].includes(k))
            throw invalid(`unknown field '${clip(k, 40)}' (expected name, duration_s, notes)`);
        if (b.notes !== undefined && (typeof b.notes !== "string" || b.notes.length > 10_000))
          throw invalid("notes must be a string of at most 10000 characters");
        if (b.duration_s !== undefined && typeof b.duration_s !== "number")
          throw invalid("duration_s must be a number of seconds");
        const row = await http(() =>
          recordings.recordStream(params.device_id, {
            name: b.name as string | undefined,
            durationS: b.duration_s as number | undefined,
            notes: b.notes as string | undefined,
          }),
        );
        return { run_id: row.run_id, device_id: params.device_id, status: "recording" as const };
      },
      {
        detail: doc({
          body: RecordRequestSchema,
          bodyOptional: true,
          summary: "Record the device's stream to an HDF5 file until POST /runs/{id}/stop (or duration_s)",
          tags: ["runs"],
          responses: { 200: RecordResponseSchema, 400: E, 404: E, 422: E, 500: E },
        }),
      },
    )

    .get(
      "/runs",
      ({ query }) => {
        const limit = query.limit === undefined ? 100 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
          throw invalid(`limit must be an integer 1–${MAX_LIST}`);
        const rows = catalogue.runs({
          task_id: query.task_id || undefined,
          device_id: query.device_id || undefined,
          since_ms: time(query.since, "since"),
          until_ms: time(query.until, "until"),
          limit,
        });
        return { runs: rows.map(summary) };
      },
      {
        query: t.Object({
          task_id: t.Optional(t.String()),
          device_id: t.Optional(t.String()),
          since: t.Optional(t.String({ description: "Runs started at or after (ISO-8601 or epoch seconds)" })),
          until: t.Optional(t.String({ description: "Runs started at or before" })),
          limit: t.Optional(
            t.String({ description: `At most this many, newest first (default 100, up to ${MAX_LIST})` }),
          ),
        }),
        detail: doc({
          summary: "Recordings, newest first; filter by task, device, time",
          tags: ["runs"],
          responses: { 200: RunListSchema, 400: E },
        }),
      },
    )

    .get("/runs/:run_id", ({ params }) => detail(find(params.run_id)), {
      detail: doc({
        summary: "One recording: metadata, datasets and their sizes, status, error",
        tags: ["runs"],
        responses: { 200: RunDetailSchema, 404: E },
      }),
    })

    .get(
      "/runs/:run_id/file",
      async ({ params, query }) => {
        const row = find(params.run_id);
        if (recordings.isRecording(row.run_id)) {
          throw new HttpError(
            409,
            "RunRecording",
            `Run '${row.run_id}' is still recording; stop it first (the file is complete once closed)`,
            { run_id: row.run_id },
          );
        }
        const file = Bun.file(row.file);
        if (!(await file.exists()))
          throw new HttpError(
            404,
            "RunFileMissing",
            `The file of run '${row.run_id}' is gone from the data directory`,
            { run_id: row.run_id },
          );
        if (query.format === undefined || query.format === "" || query.format === "hdf5") {
          return new Response(file, {
            headers: {
              "content-type": "application/x-hdf5",
              "content-disposition": `attachment; filename="${basename(row.file)}"`,
            },
          });
        }
        if (query.format !== "csv")
          throw invalid("format must be hdf5 or csv", { format: clip(String(query.format), 20) });
        const body = await data.csv(row, query.dataset || undefined); // "dataset=" alone: the run's only one
        return new Response(body, {
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="${row.run_id}.csv"`,
          },
        });
      },
      {
        query: t.Object({
          format: t.Optional(
            t.String({ description: "hdf5 (default) or csv (runs with one dataset, or one chosen with dataset=)" }),
          ),
          dataset: t.Optional(t.String()),
        }),
        detail: doc({
          summary: "Download the recording (HDF5, or CSV of one dataset)",
          tags: ["runs"],
          responses: { 200: {}, 400: E, 404: E, 409: E },
        }),
      },
    )

    .post(
      "/runs/:run_id/stop",
      async ({ params }) => {
        find(params.run_id);
        const row = await http(() => recordings.stop(params.run_id));
        return detail(row);
      },
      {
        parse: "none",
        detail: doc({
          summary: "Stop a stream recording; its file is closed and complete",
          tags: ["runs"],
          responses: { 200: RunDetailSchema, 404: E, 409: E },
        }),
      },
    )

    .delete(
      "/runs/:run_id",
      async ({ params }) => {
        find(params.run_id);
        await http(() => recordings.remove(params.run_id));
        return { status: "deleted" as const, run_id: params.run_id };
      },
      {
        detail: doc({
          summary: "Delete a recording and its file (refused while recording)",
          tags: ["runs"],
          responses: { 200: DeleteRunResponseSchema, 404: E, 409: E },
        }),
      },
    )

    .post(
      "/runs/:run_id/resubmit",
      async ({ params, body, request }) => {
        const row = find(params.run_id);
        if (row.kind !== "task" || !row.task_type) {
          throw new HttpError(
            409,
            "NotATaskRun",
            `Run '${row.run_id}' recorded a stream, not a task; there is nothing to resubmit`,
            { run_id: row.run_id },
          );
        }
        const b = body === undefined || body === null ? {} : objectBody(body);
        const id = b.task_id === undefined ? nextTaskId(ctx, data, row.task_id!) : checkIdHttp(b.task_id);
        // The caller's lease goes along: resubmitting on one's own leased device is the holder's right.
        return submit({ task_id: id, task_type: row.task_type, params: JSON.parse(row.params) }, leaseIdOf(request));
      },
      {
        detail: doc({
          body: ResubmitRequestSchema,
          bodyOptional: true,
          summary: "Start the run's task type again with the same parameters, as a new task",
          tags: ["runs"],
          responses: { 200: ExecuteTaskResponseSchema, 400: E, 404: E, 409: E },
        }),
      },
    );
}

function checkIdHttp(id: unknown): string {
  try {
    return checkId("task", id);
  } catch (e) {
    if (e instanceof LabDaemonError) throw invalid(e.message, e.context);
    throw e;
  }
}

/** `<id>-2`, `<id>-3` … the first that is neither running nor retained. */
function nextTaskId(ctx: RouteContext, data: DataStore, base: string): string {
  const stem = base.replace(/-\d+$/, "").slice(0, 120);
  for (let n = 2; ; n++) {
    const id = `${stem}-${n}`;
    if (!ctx.daemon.hasTask(id) && !data.catalogue.task(id)) return id;
  }
}
