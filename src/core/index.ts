export * from "./errors.ts";
export * from "./events.ts";
export { ID_PATTERN } from "./ids.ts";
export { LabDaemon } from "./daemon.ts";
export { withDeadline } from "./deadline.ts";
export type {
  DeviceProxy,
  DeviceClass,
  TaskClass,
  DeviceRef,
  DeviceState,
  LabDaemonOptions,
  AddDeviceOptions,
  ExecuteTaskOptions,
  ClientOptions,
} from "./daemon.ts";
export { Ownership } from "./ownership.ts";
export type { Claim } from "./ownership.ts";
export type { ServiceRequestForward } from "./deviceSrq.ts";
export { TaskHandle } from "./tasks.ts";
export type { Task, TaskContext, TaskStatus, TaskProgress } from "./tasks.ts";
export type { StreamCallback, StreamInfo, StreamEnd, Subscription, SubscribeOptions } from "./streamHub.ts";
export { lookupMethod, publicMethodNames, LIFECYCLE_METHODS } from "./methods.ts";
export { isPlainObject } from "./ids.ts";
export { paramsSchemaOf, paramsProblems } from "./params.ts";
export type { ParamsProblem } from "./params.ts";
export { compileSchema, plainSchema } from "./schema.ts";
export type { CompiledSchema } from "./schema.ts";
