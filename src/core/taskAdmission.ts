// Starting a task: its class and parameters checked, constructed once, its devices and required methods
// checked, its devices claimed, then run() started once what those devices were doing has finished.
import type { DaemonParts } from "./daemonParts.ts";
import type { ExecuteTaskOptions, LabDaemonApi } from "./daemonTypes.ts";
import type { DeviceEntry } from "./deviceTable.ts";
import {
  BusyError,
  DeviceNotFoundError,
  InvalidRequestError,
  InvalidTaskDefinitionError,
  TaskExistsError,
  TaskInstantiationError,
  TaskTypeNotFoundError,
  asError,
} from "./errors.ts";
import { isoNow } from "./events.ts";
import { checkId, isPlainObject } from "./ids.ts";
import { LIFECYCLE_METHODS, lookupMethod } from "./methods.ts";
import { describeProblems, paramsProblems } from "./params.ts";
import { TaskHandle, type Task } from "./tasks.ts";
import { clip } from "./clip.ts";

/** Constructs the task once, validates it, and starts `run(ctx)`. Nothing is stored if any step fails. */
export function admitTask(
  parts: DaemonParts,
  daemon: LabDaemonApi<TaskHandle>,
  taskId: string,
  taskType: string,
  params: Record<string, unknown>,
  opts: ExecuteTaskOptions,
): TaskHandle {
  checkId("task", taskId);
  if (!isPlainObject(params))
    throw new InvalidRequestError(`params for task '${taskId}' must be an object`, { task_id: taskId });
  const Cls = parts.registry.taskClass(taskType);
  if (!Cls) {
    throw new TaskTypeNotFoundError(`Unknown task type: '${clip(String(taskType), 140)}'. Is the plugin registered?`, {
      task_id: taskId,
      task_type: clip(String(taskType), 140),
    });
  }
  if (parts.tasks.get(taskId)?.isRunning())
    throw new TaskExistsError(`Task with ID '${taskId}' is already running.`, { task_id: taskId });
  const { running } = parts.tasks;
  const limit = parts.limits.maxRunningTasks;
  if (running >= limit) {
    throw new BusyError(`${running} tasks are running (limit ${limit}); try again when some have ended`, {
      task_id: taskId,
    });
  }
  const problems = paramsProblems(Cls, params);
  if (problems.length > 0) {
    throw instantiationFailure(
      parts,
      taskId,
      taskType,
      new TaskInstantiationError(`Failed to instantiate task '${taskId}': ${describeProblems(problems)}`, {
        task_id: taskId,
        task_type: taskType,
        errors: problems,
      }),
      "params",
    );
  }
  let task: Task;
  try {
    task = new Cls(taskId, params);
  } catch (e) {
    const err = asError(e);
    throw instantiationFailure(
      parts,
      taskId,
      taskType,
      new TaskInstantiationError(
        `Failed to instantiate task '${taskId}': ${err.message}`,
        { task_id: taskId, task_type: taskType },
        { cause: err },
      ),
      "instantiation",
      err,
    );
  }
  const deviceIds = validateDeviceIds(parts, taskId, task);
  checkRequiredMethods(parts, taskId, taskType, task);
  // A task a client starts may use a leased device only with that device's lease.
  if (opts.asClient)
    for (const id of deviceIds)
      parts.leases.assertMay(id, opts.leaseId, `: task '${taskId}' can claim it only when started with its lease`);
  opts.beforeStart?.({ taskId, taskType, deviceIds });
  const claim = opts.exclusive
    ? parts.ownership.claim(taskId, taskType, deviceIds)
    : parts.ownership.claimFree(taskId, taskType, deviceIds);
  const handle = new TaskHandle(taskId, taskType, task, deviceIds, daemon, {
    emit: (kind, h, extra) =>
      parts.events.emit("task", {
        kind,
        taskId: h.taskId,
        taskType: h.taskType,
        timestamp: isoNow(),
        ...extra,
      }),
    failed: (h, error) => parts.failures.task(h, error),
    beforeRun: (signal) => settleClaimed(parts, claim?.deviceIds ?? [], signal),
    released: (h) => {
      if (claim) parts.ownership.release(claim);
      const freed = [...(claim?.deviceIds ?? []), ...parts.ownership.releaseInherited(h.taskId)];
      // A task still working on a freed device (a child its parent left running) takes it over.
      for (const id of freed) {
        const user = parts.tasks.runningUsing(id);
        if (user) parts.ownership.inherit(user, id);
      }
    },
    settled: (h) => parts.tasks.settled(h),
  });
  handle.params = params;
  parts.tasks.add(handle);
  handle.start();
  return handle;
}

function validateDeviceIds(parts: DaemonParts, taskId: string, task: Task): string[] {
  if (task === null || typeof task !== "object" || typeof task.run !== "function") {
    throw new InvalidTaskDefinitionError(`Task '${taskId}': the task class must define run(ctx).`, {
      task_id: taskId,
    });
  }
  const ids = task.deviceIds ?? [];
  if (!Array.isArray(ids)) {
    const got = ids === null ? "null" : typeof ids;
    throw new InvalidTaskDefinitionError(`Task '${taskId}': device_ids must be a list of strings, got ${got}`, {
      task_id: taskId,
    });
  }
  for (const id of ids) {
    if (typeof id !== "string") {
      throw new InvalidTaskDefinitionError(`Task '${taskId}': device_ids must contain only strings`, {
        task_id: taskId,
      });
    }
    const entry = parts.devices.get(id);
    if (!entry || entry.removing) {
      throw new DeviceNotFoundError(
        `Task '${taskId}' needs device '${clip(id, 140)}', which is ${entry ? "being removed" : "not registered"}`,
        { task_id: taskId, device_id: clip(id, 140) },
      );
    }
  }
  return [...new Set(ids)];
}

/**
 * A task's `requiredMethods` (device id → methods its run() calls there) against the registered
 * devices, so a sweep given a power meter as its laser fails before it starts, naming what is missing.
 */
function checkRequiredMethods(parts: DaemonParts, taskId: string, taskType: string, task: Task): void {
  const required = task.requiredMethods;
  if (required === undefined) return;
  if (
    !isPlainObject(required) ||
    !Object.values(required).every((m) => Array.isArray(m) && m.every((n) => typeof n === "string"))
  ) {
    throw new InvalidTaskDefinitionError(
      `Task '${taskId}': requiredMethods must map device ids to lists of method names`,
      {
        task_id: taskId,
      },
    );
  }
  const missing: { device_id: string; device_type: string; methods: string[] }[] = [];
  for (const [id, names] of Object.entries(required)) {
    const e = parts.devices.get(id);
    if (!e || e.removing) {
      throw new DeviceNotFoundError(`Task '${taskId}' needs device '${clip(id, 140)}', which is not registered`, {
        task_id: taskId,
        device_id: clip(id, 140),
      });
    }
    const absent = names.filter(
      (n) => !LIFECYCLE_METHODS.has(n) && !lookupMethod(e.instance, n, { remoteOnly: false }).ok,
    );
    if (absent.length > 0) missing.push({ device_id: id, device_type: e.type, methods: absent });
  }
  if (missing.length === 0) return;
  const what = missing
    .map(
      (m) =>
        `device '${m.device_id}' (${m.device_type}) has no method${m.methods.length > 1 ? "s" : ""} ${m.methods.join(", ")}`,
    )
    .join("; ");
  throw instantiationFailure(
    parts,
    taskId,
    taskType,
    new TaskInstantiationError(
      `Task '${taskId}' (${taskType}) cannot run: ${what}. Check which device each parameter names.`,
      { task_id: taskId, task_type: taskType, missing_methods: missing },
    ),
    "devices",
  );
}

/** Recorded as the task's error (as a constructor failure always was), then thrown by the caller. */
function instantiationFailure(
  parts: DaemonParts,
  taskId: string,
  taskType: string,
  err: TaskInstantiationError,
  phase: string,
  cause: Error = err,
): TaskInstantiationError {
  parts.failures.taskStart(taskId, cause, { task_type: taskType, phase });
  return err;
}

/**
 * Resolves once what each claimed device was doing when the claim was made has finished (client
 * operations queued behind it are refused when they reach the front), so run() never starts while a
 * client's disconnect is still under way. Cancelling the task ends the wait; a device that fails the
 * wait (removed, stuck) lets run() start and meet that failure on its own first call.
 */
function settleClaimed(parts: DaemonParts, ids: readonly string[], signal: AbortSignal): Promise<void> | undefined {
  const busy = ids.map((id) => parts.devices.get(id)).filter((e): e is DeviceEntry => e?.queue.isBusy === true);
  if (busy.length === 0) return undefined;
  return waitForBarrier(busy, signal);
}

async function waitForBarrier(busy: DeviceEntry[], signal: AbortSignal): Promise<void> {
  const barrier = Promise.all(busy.map((e) => e.queue.run(() => undefined, "task claim").catch(() => {})));
  let onAbort!: () => void;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  await Promise.race([barrier, aborted]);
  signal.removeEventListener("abort", onAbort);
}
