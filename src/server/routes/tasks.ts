// /tasks: start tasks (claiming their devices), inspect, control and parameterise them, stored errors.
import { Elysia, t } from "elysia";
import { withDeadline } from "../../core/deadline.ts";
import { LabDaemonError, NotSupportedError, asError } from "../../core/errors.ts";
import { isoNow } from "../../core/events.ts";
import type { TaskHandle } from "../../core/tasks.ts";
import { HttpError, deviceFailureStatus, invalid } from "../errors.ts";
import { jsonResponse } from "../json.ts";
import {
  ErrorEnvelopeSchema,
  ExecuteTaskRequestSchema,
  ExecuteTaskResponseSchema,
  GetParameterResponseSchema,
  SetParameterRequestSchema,
  SetParameterResponseSchema,
  StoredErrorSchema,
  TaskControlResponseSchema,
  TaskDetailSchema,
  TaskListSchema,
  type TaskDetail,
  type TaskStatusName,
  type TaskSummary,
} from "../schemas.ts";
import { flag, creationRequest, leaseIdOf, noBody, objectBody, type RouteContext } from "./context.ts";
import { doc } from "./doc.ts";
import { historicTask, historicTaskError, historicTasks } from "./taskHistory.ts";
import { clip } from "../../core/clip.ts";

const E = ErrorEnvelopeSchema;
const noError = (id: string) => new HttpError(404, "NoError", "No error recorded for task", { task_id: id });

const summary = (h: TaskHandle): TaskSummary => ({
  task_id: h.taskId,
  task_type: h.taskType,
  running: h.isRunning(),
  status: h.status,
});

function detail(h: TaskHandle): TaskDetail {
  const err = h.exception();
  return {
    ...summary(h),
    result: h.isRunning() || h.result === undefined ? null : h.result,
    exception:
      h.status === "failed" && err
        ? {
            error: {
              type: err.name || "Error",
              message: err.message,
              origin: h.failure?.origin ?? "framework",
              timestamp: isoNow(h.finishedAt ?? Date.now()),
              // A device's error names the device (and method) it came from, as the task's stored error does.
              context: { task_id: h.taskId, ...(h.failure?.origin === "device" ? h.failure.context : {}) },
            },
          }
        : null,
    progress: h.progress,
    device_ids: [...h.deviceIds],
    started_at: isoNow(h.startedAt),
    finished_at: h.finishedAt === null ? null : isoNow(h.finishedAt),
  };
}

function notRunning(h: { taskId: string; status: TaskStatusName }, what: string): HttpError {
  return new HttpError(
    409,
    "TaskNotRunning",
    `Task '${h.taskId}' is not running (status: ${h.status}); cannot ${what}`,
    { task_id: h.taskId, status: h.status },
  );
}

/**
 * A task's own setParameter/getParameter failure: a bad key or value (a TaskParameterError, TypeError,
 * RangeError) is the caller's 400, with the keys the task accepts when it names them.
 */
function parameterFailure(err: unknown, message: string, context: Record<string, unknown>): HttpError {
  const e = asError(err);
  const status = deviceFailureStatus(err) === 400 ? 400 : 500;
  const known = err instanceof LabDaemonError && Array.isArray(err.context.known) ? { known: err.context.known } : {};
  return new HttpError(status, "TaskParameterError", `${message}: ${e.message}`, {
    ...context,
    error_type: e.name,
    ...known,
  });
}

const TIMED_OUT = Symbol("timed out");

/** `p`, or TIMED_OUT after `ms`: a task's parameter code that never settles must not hold the request. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return (await withDeadline(p, ms)) ? await p : TIMED_OUT;
}

function parameterTimeout(what: string, ms: number, context: Record<string, unknown>): HttpError {
  return new HttpError(504, "TimeoutError", `${what}: no answer within ${ms} ms`, { ...context, timeout_ms: ms });
}

export function taskRoutes(ctx: RouteContext) {
  const { daemon, errors } = ctx;
  /**
   * A task only the data directory's history still holds (evicted from the finished buffer, or run by an
   * earlier run of the server): GET answers for it, so the controls say it is not running, not 404.
   */
  const pastTask = (taskId: string): { taskId: string; status: TaskStatusName } | null => {
    if (!ctx.data || daemon.hasTask(taskId)) return null;
    const row = ctx.data.catalogue.task(taskId);
    return row ? { taskId, status: row.status as TaskStatusName } : null;
  };

  return new Elysia()
    .get(
      "/tasks",
      () => ({
        tasks: [
          ...daemon.listTasks().map(summary),
          ...(ctx.data ? historicTasks(ctx.data, (id) => daemon.hasTask(id)) : []),
        ],
      }),
      {
        detail: doc({
          summary: "Running tasks and the retained finished ones",
          tags: ["tasks"],
          responses: { 200: TaskListSchema },
        }),
      },
    )

    .post(
      "/tasks",
      ({ body, request }) => {
        const { id, type, params } = creationRequest(body, "task");
        // All devices or none; the daemon releases them when the task ends, whatever the outcome.
        const handle = daemon.executeTask(id, type, params, {
          exclusive: true,
          asClient: true,
          leaseId: leaseIdOf(request),
        });
        return { task_id: id, task_type: type, device_ids: [...handle.deviceIds], status: "started" as const };
      },
      {
        detail: doc({
          body: ExecuteTaskRequestSchema,
          summary: "Start a task; its device_ids are claimed atomically until it ends",
          tags: ["tasks"],
          responses: { 200: ExecuteTaskResponseSchema, 400: E, 404: E, 409: E, 422: E },
        }),
      },
    )

    .get(
      "/tasks/:task_id",
      ({ params }) => {
        const earlier = !daemon.hasTask(params.task_id) && ctx.data ? historicTask(ctx.data, params.task_id) : null;
        if (earlier) return jsonResponse(earlier);
        const h = daemon.getTask(params.task_id);
        const run_id = ctx.data
          ? (ctx.data.history.runIds.get(h.taskId) ?? ctx.data.catalogue.task(h.taskId)?.run_id ?? null)
          : undefined;
        return jsonResponse(ctx.data ? { ...detail(h), params: h.params, run_id } : detail(h));
      },
      {
        detail: doc({
          summary: "One task: status, progress, result, exception",
          tags: ["tasks"],
          responses: { 200: TaskDetailSchema, 404: E },
        }),
      },
    )

    .get(
      "/tasks/:task_id/error",
      ({ params }) => {
        const stored =
          errors.taskError(params.task_id) ?? (ctx.data ? historicTaskError(ctx.data, params.task_id) : null);
        if (!stored) throw noError(params.task_id);
        return stored;
      },
      {
        detail: doc({
          summary: "Last error recorded for the task",
          tags: ["errors"],
          responses: { 200: StoredErrorSchema, 404: E },
        }),
      },
    )

    .delete(
      "/tasks/:task_id/error",
      async ({ params, request }) => {
        await noBody(request);
        const kept = ctx.data ? historicTaskError(ctx.data, params.task_id) !== null : false;
        if (kept) ctx.data!.catalogue.dropError("task", params.task_id);
        if (!errors.clearTaskError(params.task_id) && !kept) throw noError(params.task_id);
        return new Response(null, { status: 204 });
      },
      {
        parse: "none",
        detail: doc({
          summary: "Clear the task's recorded error",
          tags: ["errors"],
          responses: { 204: {}, 400: E, 404: E },
        }),
      },
    )

    .post(
      "/tasks/:task_id/cancel",
      async ({ params, query, request }) => {
        await noBody(request);
        const force = flag(query.force);
        if (force === null) throw invalid("force must be true or false", { force: clip(String(query.force), 40) });
        const past = pastTask(params.task_id);
        if (past) return { status: "not_running", task_id: past.taskId, task_status: past.status };
        const h = daemon.getTask(params.task_id);
        if (!h.isRunning()) return { status: "not_running", task_id: h.taskId, task_status: h.status };
        h.cancel({ force });
        return { status: "cancellation_requested", task_id: h.taskId, task_status: h.status };
      },
      {
        parse: "none",
        query: t.Object({
          force: t.Optional(
            t.String({
              description:
                "true: record the task cancelled and free its devices at once, even if run() ignores the cancel",
              examples: ["true"],
            }),
          ),
        }),
        detail: doc({
          summary: "Cancel a task; ?force=true records it cancelled and frees its devices even if run() ignores it",
          tags: ["tasks"],
          responses: { 200: TaskControlResponseSchema, 400: E, 404: E },
        }),
      },
    )

    .post(
      "/tasks/:task_id/pause",
      async ({ params, request }) => {
        await noBody(request);
        const past = pastTask(params.task_id);
        if (past) throw notRunning(past, "pause");
        const h = daemon.getTask(params.task_id);
        if (!h.isRunning()) throw notRunning(h, "pause");
        if (!h.isPaused() && !h.pause()) throw notRunning(h, "pause after cancellation was requested");
        return { status: "paused", task_id: h.taskId, task_status: h.status };
      },
      {
        parse: "none",
        detail: doc({
          summary: "Pause a task at its next checkpoint",
          tags: ["tasks"],
          responses: { 200: TaskControlResponseSchema, 400: E, 404: E, 409: E },
        }),
      },
    )

    .post(
      "/tasks/:task_id/resume",
      async ({ params, request }) => {
        await noBody(request);
        const past = pastTask(params.task_id);
        if (past) throw notRunning(past, "resume");
        const h = daemon.getTask(params.task_id);
        if (!h.isRunning()) throw notRunning(h, "resume");
        h.resume();
        return { status: "resumed", task_id: h.taskId, task_status: h.status };
      },
      {
        parse: "none",
        detail: doc({
          summary: "Resume a paused task",
          tags: ["tasks"],
          responses: { 200: TaskControlResponseSchema, 400: E, 404: E, 409: E },
        }),
      },
    )

    .post(
      "/tasks/:task_id/parameters",
      async ({ params, body }) => {
        const b = objectBody(body);
        const past = pastTask(params.task_id);
        if (past) throw notRunning(past, "set parameters");
        const h = daemon.getTask(params.task_id);
        if (!Object.hasOwn(b, "value")) throw invalid("'value' is required in request body", { task_id: h.taskId });
        if (!b.key) throw invalid("'key' is required in request body", { task_id: h.taskId });
        if (typeof b.key !== "string") throw invalid("'key' must be a string", { task_id: h.taskId });
        const key = b.key;
        if (!h.isRunning()) throw notRunning(h, "set parameters");
        if (typeof h.task.setParameter !== "function") {
          throw new NotSupportedError(`Task '${h.taskId}' does not support setting parameters`, {
            task_id: h.taskId,
          });
        }
        const what = `Failed to set parameter '${clip(key, 80)}' on task '${h.taskId}'`;
        let outcome: unknown;
        try {
          outcome = await within(h.setParameter(key, b.value), ctx.parameterTimeoutMs);
        } catch (err) {
          throw parameterFailure(err, what, { task_id: h.taskId, key: clip(key, 80) });
        }
        if (outcome === TIMED_OUT)
          throw parameterTimeout(what, ctx.parameterTimeoutMs, { task_id: h.taskId, key: clip(key, 80) });
        return jsonResponse({ status: "parameter_set", key, value: b.value });
      },
      {
        detail: doc({
          body: SetParameterRequestSchema,
          summary: "Set a parameter of a running task",
          tags: ["tasks"],
          responses: { 200: SetParameterResponseSchema, 400: E, 404: E, 409: E, 422: E, 500: E, 504: E },
        }),
      },
    )

    .get(
      "/tasks/:task_id/parameters/:key",
      async ({ params }) => {
        const past = pastTask(params.task_id);
        if (past) throw notRunning(past, "read parameters");
        const h = daemon.getTask(params.task_id);
        if (typeof h.task.getParameter !== "function") {
          throw new NotSupportedError(`Task '${h.taskId}' does not support reading parameters`, {
            task_id: h.taskId,
          });
        }
        const what = `Failed to read parameter '${clip(params.key, 80)}' of task '${h.taskId}'`;
        const context = { task_id: h.taskId, key: clip(params.key, 80) };
        let value: unknown;
        try {
          value = await within(h.getParameter(params.key), ctx.parameterTimeoutMs);
        } catch (err) {
          throw parameterFailure(err, what, context);
        }
        if (value === TIMED_OUT) throw parameterTimeout(what, ctx.parameterTimeoutMs, context);
        return jsonResponse({ task_id: h.taskId, key: params.key, value: value === undefined ? null : value });
      },
      {
        detail: doc({
          summary: "Read a parameter of a task",
          tags: ["tasks"],
          responses: { 200: GetParameterResponseSchema, 400: E, 404: E, 409: E, 500: E, 504: E },
        }),
      },
    );
}
