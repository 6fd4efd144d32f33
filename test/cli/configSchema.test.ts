// The JSON Schema `labdaemon config --schema` prints is a strict, standard schema that agrees with serve's
// own checks: it accepts the configurations the repository ships and shows, and refuses a bad one at the
// very path serve names.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { parse } from "yaml";
import { checkConfigText } from "../../src/cli/configCheck.ts";
import { fileProblems } from "../../src/cli/configProfile.ts";
import { configJsonSchema } from "../../src/cli/configSchema.ts";
import { TEMPLATE_JSON, TEMPLATE_YAML } from "../../src/launcher/template.ts";
import { LAB_YAML } from "../launcher/support.ts";
import { runCli } from "./runCli.ts";

function compile() {
  // Strict: unknown keywords, formats and ill-typed applicators are errors. `errorMessage` is the one
  // annotation the schema adds, the keyword VS Code's JSON and YAML services read.
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addVocabulary(["errorMessage"]);
  return ajv.compile(configJsonSchema());
}

/** Where ajv says the document fails: instance paths, an unknown or missing key's own path included. */
function ajvPaths(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const params = e.params as { additionalProperty?: string; missingProperty?: string };
    const key = params.additionalProperty ?? params.missingProperty;
    const path = key === undefined ? e.instancePath : `${e.instancePath}/${key}`;
    return path.slice(1).split("/").join(".");
  });
}

/** The README's YAML and JSON blocks that are lab configurations (they start with a config's key). */
function readmeConfigs(): unknown[] {
  const readme = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");
  const blocks = [...readme.matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].map(([, lang, body]) =>
    lang === "json" ? tryJson(body!) : parse(body!),
  );
  return blocks.filter((b) => typeof b === "object" && b !== null && ("devices" in b || "configs" in b || "port" in b));
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null; // a block of several JSON lines (MQTT commands), not a configuration
  }
}

describe("the lab configuration's JSON Schema", () => {
  test("compiles in ajv's strict mode", () => {
    expect(() => compile()).not.toThrow();
  });

  test("accepts the launcher's templates, the test lab and the README's examples, as serve does", () => {
    const validate = compile();
    const examples = [parse(TEMPLATE_YAML), JSON.parse(TEMPLATE_JSON), parse(LAB_YAML), ...readmeConfigs()];
    expect(examples.length).toBeGreaterThanOrEqual(5);
    for (const doc of examples) {
      expect(fileProblems(doc, false)).toEqual([]);
      expect({ doc, ok: validate(doc), errors: validate.errors ?? null }).toEqual({ doc, ok: true, errors: null });
    }
  });

  const bad: Array<[string, unknown, string]> = [
    ["a port out of range", { port: 70000 }, "port"],
    ["a port that is text", { port: "high" }, "port"],
    ["a misspelt key", { devcies: {} }, "devcies"],
    ["a device without a type", { devices: { l1: { params: {} } } }, "devices.l1.type"],
    ["a misspelt device key", { devices: { l1: { type: "SimLaser", conect: true } } }, "devices.l1.conect"],
    ["connect as text", { devices: { l1: { type: "SimLaser", connect: "yes" } } }, "devices.l1.connect"],
    ["a call timeout of 0", { devices: { l1: { type: "SimLaser", callTimeoutMs: 0 } } }, "devices.l1.callTimeoutMs"],
    ["a wildcard origin", { cors: "*" }, "cors"],
    ["an unknown log level", { logLevel: "loud" }, "logLevel"],
    ["an empty token", { token: "" }, "token"],
    ["retention of no days", { retention: { days: 0 } }, "retention.days"],
    ["a task name that is a number", { tasks: ["SweepTask", 3] }, "tasks.1"],
    ["code in a data file", { setup: "x" }, "setup"],
    ["a bad port inside a profile", { configs: { a: { port: -1 } } }, "configs.a.port"],
    ["a key beside configs", { configs: { a: {} }, colour: "red" }, "colour"],
    ["no profiles", { configs: {} }, "configs"],
  ];
  for (const [what, doc, path] of bad) {
    test(`refuses ${what} at ${path}, where serve's check points too`, () => {
      const validate = compile();
      expect(validate(doc)).toBe(false);
      expect(ajvPaths(validate.errors)).toContain(path);
      expect(fileProblems(doc, false).map((p) => p.path.join("."))).toContain(path);
    });
  }

  test("`labdaemon config --schema` prints it; without --schema it is a usage error", async () => {
    const r = await runCli(["config", "--schema"]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual(configJsonSchema());
    const none = await runCli(["config"]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("--schema");
    expect((await runCli(["help", "config"])).stdout.toString()).toContain("labdaemon config --schema");
  });
});

describe("checking a configuration's text", () => {
  test("lists every problem of every profile with its line and column", () => {
    const text = "configs:\n  a:\n    port: high\n    colour: red\n  b:\n    devices:\n      l1: { conect: true }\n";
    const { checked, problems } = checkConfigText(text, "yaml");
    expect(checked).toBe("schema");
    expect(problems).toEqual([
      expect.objectContaining({ line: 4, column: 5, path: "configs.a.colour" }),
      { line: 3, column: 5, path: "configs.a.port", message: "configs.a.port must be an integer within 0–65535" },
      expect.objectContaining({ line: 7, column: 7, path: "configs.b.devices.l1.type" }),
      expect.objectContaining({ line: 7, column: 13, path: "configs.b.devices.l1.conect" }),
    ]);
    expect(problems[0]!.message).toMatch(/unknown key \(expected one of: name, description/);
  });

  test("a syntax error is one problem at its place; a TypeScript config is checked for syntax only", () => {
    expect(checkConfigText('{\n  "port": 5000,\n}', "json").problems).toEqual([
      { line: 3, column: 1, message: "invalid JSON: trailing comma before '}'" },
    ]);
    expect(checkConfigText("export default {\n  port: 5000,\n  devices: { a: { type: 'X' }\n};\n", "ts")).toEqual({
      checked: "syntax",
      problems: [{ line: 4, column: 2, message: 'Expected "}" but found ";"' }],
    });
    expect(checkConfigText("export default { port: 'not checked' };\n", "ts")).toEqual({
      checked: "syntax",
      problems: [],
    });
  });

  test("a '__proto__' key is reported where it is", () => {
    expect(checkConfigText("devices:\n  __proto__: { type: SimLaser }\n", "yaml").problems).toEqual([
      {
        line: 2,
        column: 3,
        path: "devices.__proto__",
        message: "devices.__proto__: '__proto__' is not allowed as a key",
      },
    ]);
  });
});
