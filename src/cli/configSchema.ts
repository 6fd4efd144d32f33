// The lab configuration's shape, written once as typebox schemas: the TypeScript types, the validation
// (with the friendly message of each value in `errorMessage`) and the JSON Schema editors read.
import { type Static, type TSchema, type TUnsafe, Type } from "@sinclair/typebox";
import type { DeviceClass, LabDaemon, TaskClass } from "../index.ts";
import { LOG_LEVELS } from "../log/levels.ts";
import { MAX_MS, MS_RANGE } from "./args.ts";

/** A browser origin: scheme, host and port, nothing else (and never "*"). */
export const ORIGIN = /^https?:\/\/[^/\s]+\/?$/;
/** An interface to bind: an IP address (IPv6 with or without brackets) or a host name, no port. */
export const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/;

/** Keys that hold code: only a TypeScript config can give them. */
export const CODE_ONLY_KEYS = ["plugins", "setup"] as const;

const ORIGIN_MESSAGE = "must be an origin (http://host[:port], never '*') or a list of them";
const origin = () => Type.String({ pattern: ORIGIN.source.replace(/\\\//g, "/"), errorMessage: ORIGIN_MESSAGE });
const integer = (min: number, max: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, description, errorMessage: `must be an integer within ${min}–${max}` });

/** A value only code can give (a class, a function): checked as a function, typed as `T`. */
const code = <T>(errorMessage: string, description: string): TUnsafe<T> =>
  Type.Function([], Type.Unknown(), { errorMessage, description }) as unknown as TUnsafe<T>;

export const DeviceSchema = Type.Object(
  {
    type: Type.String({
      minLength: 1,
      description: "A built-in driver type (SimLaser, ScpiInstrument …) or one registered by the config's plugins.",
      errorMessage: "must name a device type",
    }),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "The driver's parameters (each driver documents its own).",
        errorMessage: "must be an object",
      }),
    ),
    connect: Type.Optional(
      Type.Boolean({
        description: "Connect when the server starts; default false.",
        errorMessage: "must be true or false",
      }),
    ),
    callTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_MS,
        description: "Bound on each call to the device, ms.",
        errorMessage: `must be ${MS_RANGE}`,
      }),
    ),
  },
  { additionalProperties: false, description: "One device.", errorMessage: "must be an object with a 'type'" },
);

/** The keys a JSON or YAML profile may hold. */
const DATA_PROPERTIES = {
  name: Type.Optional(Type.String({ description: "The lab's name, shown by `labdaemon profiles` and the server." })),
  description: Type.Optional(Type.String({ description: "One line about this setup." })),
  host: Type.Optional(
    Type.String({
      pattern: HOST.source,
      description: "Interface to bind (default 127.0.0.1).",
      errorMessage: "must be an IP address or a host name (no port: that is 'port')",
    }),
  ),
  port: Type.Optional(integer(0, 65535, "TCP port (default 5000; 0 picks a free one).")),
  token: Type.Optional(
    Type.String({
      minLength: 1,
      description: "Require 'Authorization: Bearer TOKEN' on every route but /health.",
      errorMessage: "must be a non-empty string (leave it out for none)",
    }),
  ),
  cors: Type.Optional(
    Type.Union([origin(), Type.Array(origin())], {
      description: "Browser origins allowed to call the server.",
      errorMessage: ORIGIN_MESSAGE,
    }),
  ),
  logLevel: Type.Optional(
    Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { description: "Log level (default info).", errorMessage: `must be one of ${LOG_LEVELS.join(", ")}` },
    ),
  ),
  completedTaskBuffer: Type.Optional(integer(0, 100_000, "Finished tasks kept in memory.")),
  dataDir: Type.Optional(
    Type.String({ description: "Where task history and recordings go; relative to the configuration file's folder." }),
  ),
  retention: Type.Optional(
    Type.Object(
      {
        tasks: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 10_000_000,
            description: "Finished tasks kept in the history.",
            errorMessage: "must be an integer within 0–10000000 (finished tasks kept)",
          }),
        ),
        days: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 100_000,
            description: "Age limit of the history, days.",
            errorMessage: "must be a number of days > 0 (at most 100000)",
          }),
        ),
      },
      {
        additionalProperties: false,
        description: "How much finished-task history the data directory keeps.",
        errorMessage: "must be { tasks: <finished tasks kept, integer ≥ 0>, days: <age limit, > 0> }",
      },
    ),
  ),
  devices: Type.Optional(
    Type.Record(Type.String(), DeviceSchema, {
      description: "Devices by id.",
      errorMessage: "must map device ids to { type, params, connect }",
    }),
  ),
  tasks: Type.Optional(
    Type.Array(Type.String({ errorMessage: "must be a task type name" }), {
      description: "Built-in task types to offer; default all of them.",
      errorMessage: "must be a list of task type names",
    }),
  ),
};

const PROFILE_OPTIONS = { additionalProperties: false, errorMessage: "must be an object (a mapping)" } as const;

/** One server's configuration as a JSON or YAML file may give it. */
export const DataProfileSchema = Type.Object(DATA_PROPERTIES, {
  ...PROFILE_OPTIONS,
  description: "One server's configuration.",
});

/** One server's configuration as a TypeScript config may give it: the data keys and code. */
export const ModuleProfileSchema = Type.Object(
  {
    ...DATA_PROPERTIES,
    plugins: Type.Optional(
      Type.Object(
        {
          devices: Type.Optional(
            Type.Record(Type.String(), code<DeviceClass>("is not a class", "A device class."), {
              errorMessage: "must map type names to classes",
            }),
          ),
          tasks: Type.Optional(
            Type.Record(Type.String(), code<TaskClass>("is not a class", "A task class."), {
              errorMessage: "must map type names to classes",
            }),
          ),
        },
        {
          additionalProperties: false,
          description: "Device and task classes, usually imported from files beside the config.",
          errorMessage: "must be { devices?: {Name: Class}, tasks?: {Name: Class} }",
        },
      ),
    ),
    setup: Type.Optional(
      code<(daemon: LabDaemon) => unknown>(
        "must be a function (daemon) => void",
        "Runs after the devices are added and connected, before serving; may return a function to run " +
          "after the daemon has shut down (close what setup opened).",
      ),
    ),
  },
  PROFILE_OPTIONS,
);

/** A file holding several named profiles; `profile` is what each entry of `configs` must be. */
export function profilesFileSchema<P extends TSchema>(profile: P) {
  return Type.Object(
    {
      configs: Type.Record(Type.String(), profile, {
        minProperties: 1,
        description: "One configuration per server setup, by profile name (what --profile chooses).",
        errorMessage: "must map profile names to configurations",
      }),
      default: Type.Optional(
        Type.String({
          description: "The profile served when --profile is not given.",
          errorMessage: "must name one of the profiles",
        }),
      ),
    },
    { additionalProperties: false, description: "Several configurations, each a profile." },
  );
}

/** The outer shape of a file with profiles; each profile is then checked on its own (serve checks only its own). */
export const ProfilesShellSchema = profilesFileSchema(Type.Unknown());

/** A profile as written (a TypeScript one may also hold code). */
export type LabConfigInput = Static<typeof ModuleProfileSchema>;
type DeviceInput = Static<typeof DeviceSchema>;

/** A device entry once checked: `params` and `connect` filled in. */
export type DeviceConfig = Omit<DeviceInput, "params" | "connect"> & {
  params: Record<string, unknown>;
  connect: boolean;
};

/** A profile once checked: every device filled in, `cors` always a list. */
export type LabConfig = Omit<LabConfigInput, "devices" | "cors"> & {
  devices: Record<string, DeviceConfig>;
  cors?: string[];
};

/**
 * The JSON Schema of a JSON or YAML lab configuration file (`labdaemon config --schema`), for editors:
 * one profile, or several under `configs`. `errorMessage` is the annotation VS Code's JSON and YAML
 * language services show instead of their own words.
 */
export function configJsonSchema(): Record<string, unknown> {
  const ref = Type.Unsafe<unknown>({ $ref: "#/definitions/profile" });
  const plain = (s: TSchema) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "labdaemon lab configuration",
    description: "One server's configuration, or several under 'configs' (see labdaemon profiles).",
    definitions: { profile: plain(DataProfileSchema) },
    anyOf: [{ $ref: "#/definitions/profile" }, plain(profilesFileSchema(ref))],
  };
}
