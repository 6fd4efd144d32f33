// The wire shapes, written once: the OpenAPI document and the client's types come from them. They check no
// request at run time: handlers check bodies themselves (routes/doc.ts says why).
// Field names are the Python LabDaemon's (snake_case), so its existing clients keep working.
import { t, type Static } from "elysia";
import { ERROR_CATALOGUE, typesSentOn } from "./errorCatalogue.ts";

const Timestamp = t.String({ description: "ISO-8601 UTC, seconds precision, e.g. 2024-01-15T10:30:00+00:00" });
const Origin = t.Union([t.Literal("framework"), t.Literal("device"), t.Literal("callback")]);

// ---------------------------------------------------------------- errors

/**
 * `error.type`: one of the catalogued literals (each with its status and meaning), or the class name that
 * device or task code threw, which the contract passes through as it is.
 */
export const ErrorTypeSchema = t.Union(
  [
    ...typesSentOn("http").map((type) =>
      t.Literal(type, { description: `${ERROR_CATALOGUE[type].status}: ${ERROR_CATALOGUE[type].about}` }),
    ),
    t.String({
      description:
        "Not catalogued: the class name of what device or task code threw (TypeError, a driver's own class …); " +
        "origin device for a device's failure",
    }),
  ],
  { description: "Stable error type to branch on" },
);

export const ErrorBodySchema = t.Object({
  type: ErrorTypeSchema,
  message: t.String(),
  origin: Origin,
  timestamp: Timestamp,
  context: t.Record(t.String(), t.Unknown()),
});
export const ErrorEnvelopeSchema = t.Object({ error: ErrorBodySchema }, { description: "Every error response" });
export type ErrorEnvelope = Static<typeof ErrorEnvelopeSchema>;

export const StoredErrorSchema = t.Object(
  {
    error: t.Object({
      type: ErrorTypeSchema,
      message: t.String(),
      origin: Origin,
      timestamp: Timestamp,
      traceback: t.String({ description: "The JavaScript stack of the failure" }),
      context: t.Record(t.String(), t.Unknown()),
    }),
  },
  { description: "The last error recorded for a device or a task" },
);
export type StoredError = Static<typeof StoredErrorSchema>;

// ---------------------------------------------------------------- devices

export const StreamStatsSchema = t.Object({
  subscribers: t.Number(),
  dropped: t.Number(),
  sequence: t.Number(),
  started_by: t.Union([t.Literal("local"), t.Literal("subscribers"), t.Null()]),
  encode_failures: t.Optional(
    t.Number({ description: "Payloads that could not be written as JSON (a gap in the sequence)" }),
  ),
  replay: t.Optional(
    t.Object(
      {
        events: t.Number(),
        bytes: t.Number(),
        oldest: t.Union([t.Number(), t.Null()]),
        newest: t.Union([t.Number(), t.Null()]),
      },
      { description: "What the Last-Event-ID replay buffer holds" },
    ),
  ),
  clients: t.Optional(
    t.Array(
      t.Object({
        id: t.Number(),
        queued: t.Number(),
        queued_bytes: t.Number(),
        dropped: t.Number(),
        delivered: t.Number(),
        connected_at: t.String(),
        encoding: t.Union([t.Literal("json"), t.Literal("base64")]),
      }),
      { description: "One entry per open SSE connection: its queue, drops and encoding" },
    ),
  ),
});
export type StreamStats = Static<typeof StreamStatsSchema>;

export const DeviceInfoSchema = t.Object({
  device_id: t.String(),
  device_type: t.String({ description: "The registered type name the device was added with" }),
  connected: t.Boolean(),
  streaming: t.Boolean(),
  owned_by: t.Union([t.String(), t.Null()], { description: "Id of the running task that owns the device" }),
  last_error: t.Union([StoredErrorSchema, t.Null()]),
  busy: t.Boolean({ description: "A call is running on the device now" }),
  pending: t.Number({ description: "Calls waiting behind it" }),
  lease: t.Union([t.Object({ holder: t.String(), expires_at: t.String() }), t.Null()], {
    description: "Who holds a lease on the device and until when (commands then need X-Lease-Id)",
  }),
  last_forced_release: t.Union([t.Object({ holder: t.String(), released_at: t.String(), by: t.String() }), t.Null()], {
    description: "The last lease ended by force: whose, when, by whom",
  }),
});
export type DeviceInfo = Static<typeof DeviceInfoSchema>;

export const DeviceDetailSchema = t.Composite([
  DeviceInfoSchema,
  t.Object({
    stream: t.Union([StreamStatsSchema, t.Null()], { description: "SSE figures; null when never streamed" }),
  }),
]);
export type DeviceDetail = Static<typeof DeviceDetailSchema>;

export const DeviceListSchema = t.Object({ devices: t.Array(DeviceInfoSchema) });
export type DeviceList = Static<typeof DeviceListSchema>;

/** POST /devices. Fields are checked by the handler, so the Python LabDaemon's 400 messages hold. */
export const AddDeviceRequestSchema = t.Object({
  device_id: t.String({
    description: "Starts with a letter or digit; then letters, digits, '_', '.', ':', '-' (up to 128 in all)",
    examples: ["laser1"],
  }),
  device_type: t.String({ description: "A registered device type", examples: ["SimLaser"] }),
  params: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Constructor parameters" })),
});
export type AddDeviceRequest = { device_id: string; device_type: string; params?: Record<string, unknown> };

export const AddDeviceResponseSchema = t.Object({
  device_id: t.String(),
  device_type: t.String(),
  connected: t.Boolean(),
  streaming: t.Boolean(),
  owned_by: t.Union([t.String(), t.Null()]),
});
export type AddDeviceResponse = Static<typeof AddDeviceResponseSchema>;

export const RemoveDeviceResponseSchema = t.Object({ status: t.Literal("removed"), device_id: t.String() });
export type RemoveDeviceResponse = Static<typeof RemoveDeviceResponseSchema>;

export const ConnectResponseSchema = t.Object({
  device_id: t.String(),
  connected: t.Boolean(),
  streaming: t.Optional(t.Boolean()),
  owned_by: t.Optional(t.Union([t.String(), t.Null()])),
  message: t.Optional(t.String({ description: "Present when nothing had to be done" })),
});
export type ConnectResponse = Static<typeof ConnectResponseSchema>;

/** POST /devices/{id}/call. `args` and `kwargs` are checked by the handler (400 'args' must be a list …). */
export const CallRequestSchema = t.Object({
  method: t.String({
    description: "A public method of the device class (GET /devices/{id}/methods lists them)",
    examples: ["getWavelength"],
  }),
  args: t.Optional(t.Array(t.Unknown(), { description: "Positional arguments" })),
  kwargs: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Arguments by parameter name" })),
});
export type CallRequest = { method: string; args?: unknown[]; kwargs?: Record<string, unknown> };

export const CallResponseSchema = t.Object({
  result: t.Unknown({
    description:
      "The method's return value, JSON-safe as stream payloads are (NaN/Infinity → null, typed arrays → arrays, " +
      'bigint → number while exact, else its decimal string, Error → {type, message}, a cycle → "[Circular]", ' +
      'nesting deeper than 64 levels → "[Too deep]")',
  }),
  success: t.Literal(true),
});
export type CallResponse = Static<typeof CallResponseSchema>;

export const StreamStopResponseSchema = t.Object({
  status: t.Literal("stopped"),
  device_id: t.String(),
  timestamp: Timestamp,
});
export type StreamStopResponse = Static<typeof StreamStopResponseSchema>;

export const ParamInfoSchema = t.Object({
  name: t.String(),
  type: t.String({ description: "integer | number | string | boolean | array | object | null | any" }),
  required: t.Boolean(),
  default: t.Optional(t.Unknown()),
  schema: t.Optional(t.Unknown({ description: "The JSON schema the argument is validated against, when declared" })),
});
export type ParamInfo = Static<typeof ParamInfoSchema>;

export const MethodInfoSchema = t.Object({
  name: t.String(),
  parameters: t.Array(ParamInfoSchema),
  doc: t.Optional(t.String()),
});
export type MethodInfo = Static<typeof MethodInfoSchema>;

export const MethodListSchema = t.Object({ methods: t.Array(MethodInfoSchema) });
export type MethodList = Static<typeof MethodListSchema>;

// ---------------------------------------------------------------- tasks

export const TaskStatusSchema = t.Union(
  [
    t.Literal("running"),
    t.Literal("paused"),
    t.Literal("completed"),
    t.Literal("failed"),
    t.Literal("cancelled"),
    t.Literal("interrupted"),
  ],
  {
    description:
      "interrupted: the task was running when an earlier run of the server stopped (its last progress is kept)",
  },
);
export type TaskStatusName = Static<typeof TaskStatusSchema>;

export const TaskSummarySchema = t.Object({
  task_id: t.String(),
  task_type: t.String(),
  running: t.Boolean(),
  status: TaskStatusSchema,
  earlier_run: t.Optional(
    t.Boolean({ description: "From the data directory's history: run by an earlier run of the server" }),
  ),
});
export type TaskSummary = Static<typeof TaskSummarySchema>;

export const TaskListSchema = t.Object({ tasks: t.Array(TaskSummarySchema) });
export type TaskList = Static<typeof TaskListSchema>;

export const TaskDetailSchema = t.Object({
  task_id: t.String(),
  task_type: t.String(),
  running: t.Boolean(),
  status: TaskStatusSchema,
  result: t.Unknown({ description: "run()'s return value (a cancelled task's partial result); null while running" }),
  exception: t.Union([ErrorEnvelopeSchema, t.Null()]),
  progress: t.Object({ fraction: t.Number(), message: t.Optional(t.String()) }),
  device_ids: t.Array(t.String()),
  started_at: Timestamp,
  finished_at: t.Union([Timestamp, t.Null()]),
  earlier_run: t.Optional(
    t.Boolean({ description: "From the data directory's history: run by an earlier run of the server" }),
  ),
  params: t.Optional(t.Unknown({ description: "The parameters the task was started with (with a data directory)" })),
  run_id: t.Optional(
    t.Union([t.String(), t.Null()], { description: "The task's data file (GET /runs/{run_id}), when it has one" }),
  ),
});
export type TaskDetail = Static<typeof TaskDetailSchema>;

/** POST /tasks. Fields are checked by the handler, so the Python LabDaemon's 400 messages hold. */
export const ExecuteTaskRequestSchema = t.Object({
  task_id: t.String({
    description: "Starts with a letter or digit; then letters, digits, '_', '.', ':', '-' (up to 128 in all)",
    examples: ["sweep1"],
  }),
  task_type: t.String({ description: "A registered task type", examples: ["SweepTask"] }),
  params: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Constructor parameters" })),
});
export type ExecuteTaskRequest = { task_id: string; task_type: string; params?: Record<string, unknown> };

export const ExecuteTaskResponseSchema = t.Object({
  task_id: t.String(),
  task_type: t.String(),
  device_ids: t.Array(t.String()),
  status: t.Literal("started"),
});
export type ExecuteTaskResponse = Static<typeof ExecuteTaskResponseSchema>;

export const TaskControlResponseSchema = t.Object({
  status: t.String({ description: "cancellation_requested | paused | resumed | not_running" }),
  task_id: t.String(),
  task_status: TaskStatusSchema,
});
export type TaskControlResponse = Static<typeof TaskControlResponseSchema>;

export const SetParameterRequestSchema = t.Object({
  key: t.String({ description: "The parameter's name" }),
  value: t.Unknown({ description: "Any JSON value (null allowed)" }),
});
export type SetParameterRequest = { key: string; value: unknown };

export const SetParameterResponseSchema = t.Object({
  status: t.Literal("parameter_set"),
  key: t.String(),
  value: t.Unknown(),
});
export type SetParameterResponse = Static<typeof SetParameterResponseSchema>;

export const GetParameterResponseSchema = t.Object({ task_id: t.String(), key: t.String(), value: t.Unknown() });
export type GetParameterResponse = Static<typeof GetParameterResponseSchema>;

// ---------------------------------------------------------------- meta

export const HealthSchema = t.Object({ status: t.Literal("healthy"), timestamp: Timestamp });
export type Health = Static<typeof HealthSchema>;

const TypeEntrySchema = t.Object({
  type: t.String({ description: "The name POST /devices or POST /tasks takes" }),
  params: t.Union([t.Record(t.String(), t.Unknown()), t.Null()], {
    description: "JSON schema of the constructor params, or null",
  }),
});
export const TypesSchema = t.Object({ devices: t.Array(TypeEntrySchema), tasks: t.Array(TypeEntrySchema) });
export type Types = Static<typeof TypesSchema>;

export const ServerInfoSchema = t.Object({
  name: t.String(),
  version: t.String(),
  endpoints: t.Record(t.String(), t.String()),
  started_at: t.Optional(Timestamp),
  uptime_s: t.Optional(t.Number({ description: "Seconds since this server was created" })),
});
export type ServerInfo = Static<typeof ServerInfoSchema>;
