// The README's Appliance section is real: its configuration examples start the binary as shown.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, http, pollUntil, serve, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
const section = readme.slice(
  readme.indexOf("## Appliance"),
  readme.indexOf("\n## ", readme.indexOf("## Appliance") + 5),
);
const blocks = (lang: string) =>
  [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);

describe("the README's Appliance examples", () => {
  test("the YAML example serves its devices, connected as configured", async () => {
    const [yaml] = blocks("yaml");
    const cwd = await workspace({ "lab_servers.yaml": yaml! });
    const s = await serve(["--port", "0"], { cwd });
    try {
      const devices = (await http(s.url, "/devices")).body.devices;
      expect(devices.map((d: any) => [d.device_id, d.connected])).toEqual([
        ["laser1", true],
        ["pm1", true],
        ["dmm1", false],
      ]);
    } finally {
      await s.terminate();
    }
  });

  test("the JSON example's profiles", async () => {
    const [json] = blocks("json");
    const cwd = await workspace({ "lab_servers.json": json! });
    const mock = await serve(["--port", "0"], { cwd });
    const real = await serve(["--port", "0", "--profile", "real"], { cwd });
    try {
      expect((await http(mock.url, "/devices")).body.devices.map((d: any) => d.device_id)).toEqual(["laser1"]);
      expect((await http(real.url, "/devices")).body.devices.map((d: any) => d.device_id)).toEqual(["dmm1"]);
    } finally {
      await Promise.all([mock.terminate(), real.terminate()]);
    }
  });

  test("the TypeScript example and its plugin file", async () => {
    const [config, plugin] = blocks("ts");
    const cwd = await workspace({ "lab_servers.ts": config!, "thermometer.ts": plugin! });
    const s = await serve(["--port", "0"], { cwd });
    try {
      expect((await http(s.url, "/devices/t1/call", { body: { method: "read", args: [4] } })).body.result).toBe(4.202);
      expect((await http(s.url, "/devices/t1/call", { body: { method: "read", args: [0] } })).status).toBe(422);
    } finally {
      await s.terminate();
    }
  });

  test("the simulated lab's sweep finds the resonance at 1550.5 nm", async () => {
    const body = /-d '(\{"task_id":"sweep1".*?\})'/.exec(section)![1]!;
    const cwd = await workspace();
    const s = await serve(["--sim", "--port", "0"], { cwd });
    try {
      expect((await http(s.url, "/tasks", { body: JSON.parse(body) })).status).toBe(200);
      const done = await pollUntil("sweep1", async () => {
        const t = (await http(s.url, "/tasks/sweep1")).body;
        return t.running ? undefined : t;
      });
      expect(done.result.minimum.wavelength).toBe(1550.5);
      expect(done.result.wavelengths).toHaveLength(31);
    } finally {
      await s.terminate();
    }
  });
});
