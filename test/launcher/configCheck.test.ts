// The launcher's editor checks over its real loopback API: GET /api/config/schema, and POST
// /api/config/check answering every problem of unsaved text with its line and column; bad bodies get the
// error envelope with a 4xx and nothing is written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { configJsonSchema } from "../../src/cli/configSchema.ts";
import { MAX_CONFIG_BYTES } from "../../src/cli/configText.ts";
import { type Launcher, startLauncher } from "../../src/launcher/index.ts";
import { call, type LabDir, labDir, removeLabDirs } from "./support.ts";

const SECRET = "check-secret-0123456789";
let lab: LabDir;
let launcher: Launcher;
let base: string;

beforeAll(async () => {
  lab = labDir();
  launcher = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret: SECRET, runDir: lab.runDir });
  base = launcher.http.url;
});

afterAll(async () => {
  await launcher.quit();
  removeLabDirs();
});

/** POST /api/config/check with raw bytes and headers of the test's choosing. */
async function check(
  body: string | Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
  query = "",
) {
  const res = await fetch(new URL(`/api/config/check${query}`, base), {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as any };
}

function expectEnvelope(r: { status: number; body: any }, status: number, type: string) {
  expect(r.status).toBe(status);
  expect(r.body.error).toMatchObject({ type, origin: "framework" });
  expect(typeof r.body.error.message).toBe("string");
}

describe("editor checks", () => {
  test("GET /api/config/schema is the schema `labdaemon config --schema` prints, behind the secret", async () => {
    const r = await call(base, SECRET, "GET", "/api/config/schema");
    expect(r.status).toBe(200);
    expect(r.body).toEqual(configJsonSchema());
    expect((await call(base, null, "GET", "/api/config/schema")).status).toBe(401);
  });

  test("POST /api/config/check lists every problem with its line and column and writes nothing", async () => {
    const before = readFileSync(lab.config, "utf8");
    const text = before.replace("description: Laser bench", "colour: red").replace("port: 0", "port: 99999");
    const r = await call(base, SECRET, "POST", "/api/config/check", text);
    expect(r.status).toBe(200);
    expect(r.body.checked).toBe("schema");
    expect(r.body.problems).toEqual([
      {
        line: 3,
        column: 5,
        path: "configs.alpha.colour",
        message: expect.stringContaining("configs.alpha.colour unknown key (expected one of: name, description"),
      },
      {
        line: 4,
        column: 5,
        path: "configs.alpha.port",
        message: "configs.alpha.port must be an integer within 0–65535",
      },
    ]);
    expect((await call(base, SECRET, "POST", "/api/config/check", before)).body).toEqual({
      checked: "schema",
      problems: [],
    });
    expect(readFileSync(lab.config, "utf8")).toBe(before);
  });

  test("what only the drivers know is checked too, in every profile: device and task types, device params", async () => {
    const before = readFileSync(lab.config, "utf8");
    const text = before
      .replace("laser1: { type: SimLaser, connect: true }", "laser1: { type: SimLaser, params: { wavelenght: 1550 } }")
      .replace(
        "pm1: { type: SimPowerMeter, connect: true }",
        "pm1: { type: SimPowerMeter, params: { resonance: { depht: 0.5 } } }",
      )
      .replace("  broken:\n", "  broken:\n    tasks: [SweepTask, Scan]\n    devices:\n      cam: { type: Camera }\n")
      .replace(/\n    devices:\n      dmm: .*\n/, "\n");
    const r = await call(base, SECRET, "POST", "/api/config/check", text);
    expect(r.status).toBe(200);
    const known = "(known: ScpiInstrument, SimLaser, SimPowerMeter, SimDaq)";
    expect(r.body.problems).toEqual([
      {
        line: 6,
        column: 43,
        path: "configs.alpha.devices.laser1.params.wavelenght",
        message: expect.stringMatching(/^configs\.alpha\.devices\.laser1\.params\.wavelenght unknown parameter/),
      },
      {
        line: 11,
        column: 58,
        path: "configs.beta.devices.pm1.params.resonance.depht",
        message: expect.stringContaining("params.resonance.depht unknown parameter (did you mean 'depth'?"),
      },
      {
        line: 13,
        column: 24,
        path: "configs.broken.tasks.1",
        message: "configs.broken.tasks.1 names an unknown task type 'Scan' (built-in: SweepTask)",
      },
      {
        line: 15,
        column: 14,
        path: "configs.broken.devices.cam.type",
        message: `configs.broken.devices.cam.type names an unknown device type 'Camera' ${known}`,
      },
    ]);
    // Save refuses the same text at its first problem and writes nothing.
    const saved = await call(base, SECRET, "PUT", "/api/config", text);
    expect(saved.status).toBe(422);
    expect(saved.body.error).toMatchObject({ type: "ConfigError", context: { line: 6, column: 43 } });
    expect(readFileSync(lab.config, "utf8")).toBe(before);
  });

  test("the text is read in the configuration file's format unless ?format= says otherwise", async () => {
    const json = '{\n  "port": 5000,\n}\n';
    const asYaml = await call(base, SECRET, "POST", "/api/config/check", json);
    expect(asYaml.body.problems).toEqual([]); // YAML's flow mappings take a trailing comma
    const asJson = await call(base, SECRET, "POST", "/api/config/check?format=json", json);
    expect(asJson.body.problems).toEqual([{ line: 3, column: 1, message: "invalid JSON: trailing comma before '}'" }]);
    const ts = await call(base, SECRET, "POST", "/api/config/check?format=ts", "export default {\n  port: 1,\n");
    expect(ts.body).toMatchObject({ checked: "syntax", problems: [{ line: 2 }] });
  });

  test("bad bodies and queries get the envelope with a 4xx", async () => {
    expectEnvelope(
      await check(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { "content-type": "image/png" }),
      415,
      "UnsupportedMediaType",
    );
    expectEnvelope(await check("port: 1", { "content-type": "application/octet-stream" }), 415, "UnsupportedMediaType");
    expectEnvelope(
      await check("port: 1", { "content-type": "text/plain; charset=iso-8859-1" }),
      415,
      "UnsupportedMediaType",
    );
    expectEnvelope(
      await check(new Uint8Array([0x70, 0x3a, 0x20, 0xb5]), { "content-type": "text/plain" }),
      400,
      "InvalidRequest",
    );
    expectEnvelope(await check("port: 1", { "content-type": "text/plain" }, "?format=xml"), 400, "InvalidRequest");
    const huge = await check("#".repeat(MAX_CONFIG_BYTES + 1), { "content-type": "text/plain" });
    expectEnvelope(huge, 413, "PayloadTooLarge");
    // Without a Content-Length (streamed), the limit holds while it is read.
    const chunk = new Uint8Array(1 << 20).fill(0x23);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > MAX_CONFIG_BYTES) return c.close();
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    expectEnvelope(await check(stream, { "content-type": "text/plain" }), 413, "PayloadTooLarge");
    expectEnvelope(await call(base, SECRET, "GET", "/api/config/check"), 405, "MethodNotAllowed");
    expectEnvelope(await call(base, SECRET, "POST", "/api/config/schema"), 405, "MethodNotAllowed");
  });
});
