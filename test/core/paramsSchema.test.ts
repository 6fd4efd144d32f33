// Constructor params against a class's static `params` schema, and a task's requiredMethods: both checked
// by the daemon before anything is constructed or started.
import { afterEach, describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import {
  DeviceCreationError,
  DeviceNotFoundError,
  InvalidRequestError,
  InvalidTaskDefinitionError,
  LabDaemon,
  TaskInstantiationError,
  compileSchema,
  plainSchema,
  type LabDaemonError,
} from "../../src/index.ts";

let constructed = 0;

class Thermometer {
  static params = t.Object(
    {
      channel: t.Integer({ minimum: 1, maximum: 8 }),
      unit: t.Optional(t.Union([t.Literal("C"), t.Literal("K")])),
      filter: t.Optional(
        t.Object({ window: t.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      ),
    },
    { additionalProperties: false },
  );
  readonly channel: number;
  readonly unit: string;
  constructor(
    readonly deviceId: string,
    params: { channel: number; unit?: string },
  ) {
    constructed++;
    this.channel = params.channel;
    this.unit = params.unit ?? "C";
  }
  read() {
    return 21.5;
  }
}

class Plain {
  constructor(
    readonly deviceId: string,
    readonly params: Record<string, unknown>,
  ) {}
}

class Soak {
  static params = t.Object(
    { minutes: t.Optional(t.Number({ minimum: 0 })), probe: t.Optional(t.String()) },
    { additionalProperties: false },
  );
  readonly deviceIds: string[];
  readonly requiredMethods: Record<string, string[]>;
  constructor(
    readonly taskId: string,
    params: { minutes?: number; probe?: string },
  ) {
    constructed++;
    this.deviceIds = params.probe ? [params.probe] : [];
    this.requiredMethods = params.probe ? { [params.probe]: ["read", "connect"] } : {};
  }
  async run() {
    return "soaked";
  }
}

let daemon: LabDaemon;
function fresh(): LabDaemon {
  constructed = 0;
  daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { Thermometer, Plain }, tasks: { Soak } });
  return daemon;
}
afterEach(() => daemon?.shutdown({ timeoutMs: 100 }));

function thrown(fn: () => unknown): LabDaemonError {
  try {
    fn();
  } catch (e) {
    return e as LabDaemonError;
  }
  throw new Error("expected a throw");
}

describe("static params schema of a device class", () => {
  test("an unknown key is refused before construction, naming the key, a likely meaning and the known keys; nothing is stored", () => {
    const d = fresh();
    const e = thrown(() => d.addDevice("t1", "Thermometer", { channel: 2, unti: "K" }));
    expect(e).toBeInstanceOf(DeviceCreationError);
    expect(e.message).toBe(
      "Failed to create device 't1' of type 'Thermometer': params.unti: unknown parameter (did you mean 'unit'? known: channel, unit, filter)",
    );
    expect(e.context).toMatchObject({ device_id: "t1", device_type: "Thermometer" });
    expect(e.context.errors).toEqual([
      {
        path: "params.unti",
        message: expect.stringContaining("unknown parameter"),
        known: ["channel", "unit", "filter"],
      },
    ]);
    expect(constructed).toBe(0);
    expect(d.hasDevice("t1")).toBe(false);
  });

  test("wrong types, out-of-range values, missing required keys and nested typos are named by path", () => {
    const d = fresh();
    const cases: [Record<string, unknown>, string][] = [
      [{}, "params.channel: required parameter is missing"],
      [{ channel: "2" }, "params.channel: Expected integer"],
      [{ channel: 2.5 }, "params.channel: Expected integer"],
      [{ channel: 9 }, "params.channel: Expected integer to be less or equal to 8"],
      [{ channel: 1, unit: "F" }, 'params.unit: Expected one of "C", "K", got "F"'],
      [
        { channel: 1, filter: { widow: 3 } },
        "params.filter.widow: unknown parameter (did you mean 'window'? known: window)",
      ],
      [{ channel: 1, filter: { window: 0 } }, "params.filter.window: Expected integer to be greater or equal to 1"],
    ];
    for (const [params, why] of cases) {
      const e = thrown(() => d.addDevice("t1", "Thermometer", params));
      expect(e).toBeInstanceOf(DeviceCreationError);
      expect(e.message).toStartWith(`Failed to create device 't1' of type 'Thermometer': ${why}`);
    }
    expect(thrown(() => d.addDevice("t1", "Thermometer", { chanel: "x", unit: 3 })).message).toMatch(
      /\(and \d+ more\)$/,
    );
    expect(constructed).toBe(0);
    expect(d.listDevices()).toEqual([]);
  });

  test("defaults stay in the class: params that fit are passed through unchanged", () => {
    const d = fresh();
    d.addDevice("t1", "Thermometer", { channel: 3 });
    const inst = d.getDeviceInstance("t1") as Thermometer;
    expect([inst.channel, inst.unit]).toEqual([3, "C"]);
    expect(constructed).toBe(1);
  });

  test("a class without a schema takes any params, as before", () => {
    const d = fresh();
    d.addDevice("p1", "Plain", { anything: 1, goes: [true] });
    expect((d.getDeviceInstance("p1") as Plain).params).toEqual({ anything: 1, goes: [true] });
  });

  test("a static params that is not a typebox schema is refused at registration, registering nothing of that call", () => {
    const d = new LabDaemon();
    daemon = d;
    class Odd {
      static params = { channel: "number" };
    }
    class Fine {}
    const e = thrown(() => d.registerPlugins({ devices: { Fine, Odd } }));
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.message).toBe(
      "Device type 'Odd': static params must be a typebox schema, e.g. t.Object({ … }, { additionalProperties: false })",
    );
    expect(d.deviceTypeNames()).toEqual([]);
  });
});

describe("static params schema of a task class", () => {
  test("a misspelt task param is TaskInstantiationError before construction, recorded as the task's error; no task is stored", () => {
    const d = fresh();
    const recorded: unknown[] = [];
    d.on("error", (e) => recorded.push(e));
    const e = thrown(() => d.executeTask("s1", "Soak", { minuets: 5 }));
    expect(e).toBeInstanceOf(TaskInstantiationError);
    expect(e.message).toBe(
      "Failed to instantiate task 's1': params.minuets: unknown parameter (did you mean 'minutes'? known: minutes, probe)",
    );
    expect(constructed).toBe(0);
    expect(d.hasTask("s1")).toBe(false);
    expect(recorded).toEqual([
      expect.objectContaining({ scope: "task", id: "s1", context: { task_type: "Soak", phase: "params" } }),
    ]);
  });
});

describe("requiredMethods of a task", () => {
  test("a device lacking a method the task calls fails before the task starts, naming device, type and methods", async () => {
    const d = fresh();
    d.addDevice("plain", "Plain", {});
    d.addDevice("thermo", "Thermometer", { channel: 1 });
    const e = thrown(() => d.executeTask("s1", "Soak", { probe: "plain" }));
    expect(e).toBeInstanceOf(TaskInstantiationError);
    expect(e.message).toBe(
      "Task 's1' (Soak) cannot run: device 'plain' (Plain) has no method read. Check which device each parameter names.",
    );
    expect(e.context.missing_methods).toEqual([{ device_id: "plain", device_type: "Plain", methods: ["read"] }]);
    expect(d.hasTask("s1")).toBe(false);
    // Lifecycle methods count as present: the daemon's proxy always provides them.
    expect(await d.executeTask("s2", "Soak", { probe: "thermo" }).wait({ timeoutMs: 2000 })).toBe("soaked");
  });

  test("requiredMethods naming an unregistered device is DeviceNotFound; a malformed map is InvalidTaskDefinition", () => {
    const d = fresh();
    class Elsewhere {
      requiredMethods = { ghost: ["read"] };
      run() {}
    }
    class Malformed {
      requiredMethods = { ghost: "read" };
      run() {}
    }
    d.registerPlugins({ tasks: { Elsewhere, Malformed } });
    expect(thrown(() => d.executeTask("e1", "Elsewhere"))).toBeInstanceOf(DeviceNotFoundError);
    expect(thrown(() => d.executeTask("m1", "Malformed"))).toBeInstanceOf(InvalidTaskDefinitionError);
    expect(d.listTasks()).toEqual([]);
  });
});

describe("schemas as checked", () => {
  test("Elysia's string forms become their JSON type, keeping description, default and optionality", () => {
    const integer = plainSchema(t.Integer({ minimum: 1, description: "samples" })) as Record<string, unknown>;
    expect(JSON.parse(JSON.stringify(integer))).toEqual({ type: "integer", minimum: 1, description: "samples" });
    const numeric = plainSchema(t.Optional(t.Numeric({ default: 2 })));
    expect(JSON.parse(JSON.stringify(numeric))).toEqual({ type: "number", default: 2 });
    expect(Object.getOwnPropertySymbols(numeric).map(String)).toContain("Symbol(TypeBox.Optional)");
    const bool = compileSchema(t.BooleanString())!;
    expect([bool.check(true), bool.check("true")]).toEqual([true, false]);
    const nested = compileSchema(t.Object({ list: t.Array(t.Integer()) }))!;
    expect([nested.check({ list: [1, 2] }), nested.check({ list: [1, "2"] })]).toEqual([true, false]);
  });

  test("typebox's own schemas are left as they are", () => {
    const own = Type.Object({ n: Type.Integer(), s: Type.Optional(Type.String({ format: "email" })) });
    expect(plainSchema(own)).toBe(own);
    expect(compileSchema({ type: "integer" })).toBeNull(); // plain JSON schema: documented, not enforced
  });
});
