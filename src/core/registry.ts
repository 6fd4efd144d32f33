// The registered device and task classes by type name; registration checks each class and is all or nothing.
import { DeviceExistsError, InvalidRequestError, TaskExistsError, asError } from "./errors.ts";
import type { DeviceClass, TaskClass } from "./daemonTypes.ts";
import { checkId } from "./ids.ts";
import { remoteDeclarationProblem } from "./methods.ts";
import { paramsSchemaOf } from "./params.ts";

export class Registry {
  private readonly deviceTypes = new Map<string, DeviceClass>();
  private readonly taskTypes = new Map<string, TaskClass>();

  register(plugins: { devices?: Record<string, DeviceClass>; tasks?: Record<string, TaskClass> }): void {
    const devices = Object.entries(plugins.devices ?? {});
    const tasks = Object.entries(plugins.tasks ?? {});
    for (const [name, cls] of devices) {
      checkId("device type", name);
      if (typeof cls !== "function")
        throw new InvalidRequestError(`Device type '${name}' is not a class.`, { device_type: name });
      if (this.deviceTypes.has(name))
        throw new DeviceExistsError(`Device type '${name}' is already registered.`, { device_type: name });
      checkParamsSchema(cls, `Device type '${name}'`, { device_type: name });
      const remote = remoteDeclarationProblem(cls);
      if (remote) throw new InvalidRequestError(`Device type '${name}': ${remote}`, { device_type: name });
    }
    for (const [name, cls] of tasks) {
      checkId("task type", name);
      if (typeof cls !== "function")
        throw new InvalidRequestError(`Task type '${name}' is not a class.`, { task_type: name });
      if (this.taskTypes.has(name))
        throw new TaskExistsError(`Task type '${name}' is already registered.`, { task_type: name });
      checkParamsSchema(cls, `Task type '${name}'`, { task_type: name });
    }
    for (const [name, cls] of devices) this.deviceTypes.set(name, cls);
    for (const [name, cls] of tasks) this.taskTypes.set(name, cls);
  }

  deviceTypeNames(): string[] {
    return [...this.deviceTypes.keys()];
  }
  taskTypeNames(): string[] {
    return [...this.taskTypes.keys()];
  }
  deviceClass(type: string): DeviceClass | undefined {
    return this.deviceTypes.get(type);
  }
  taskClass(type: string): TaskClass | undefined {
    return this.taskTypes.get(type);
  }
}

/** A class's `static params`, when declared, must be a schema the daemon can check. */
function checkParamsSchema(cls: Function, what: string, context: Record<string, unknown>): void {
  try {
    paramsSchemaOf(cls);
  } catch (e) {
    throw new InvalidRequestError(`${what}: ${asError(e).message}`, context);
  }
}
