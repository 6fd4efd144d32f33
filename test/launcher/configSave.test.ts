// Saving a TypeScript configuration from the launcher: validated by importing it (as serve would) from a
// file beside the real one, which is only then renamed over it; nothing of the attempt is left behind.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { saveConfig } from "../../src/launcher/configFile.ts";
import { labDir, removeLabDirs } from "./support.ts";

afterAll(removeLabDirs);

const TS = `import { SimLaser } from "labdaemon";
export default {
  configs: {
    bench: { port: 0, devices: { laser1: { type: "SimLaser", connect: true } } },
  },
};
void SimLaser;
`;

describe("saving a .ts configuration", () => {
  test("a syntax error is refused at its line, the file unchanged; a valid module is saved with a backup", async () => {
    const lab = labDir({ "lab_servers.ts": TS });
    const file = join(lab.dir, "lab_servers.ts");
    const broken = TS.replace("port: 0,", "port: 0,,,");
    let err: any;
    await saveConfig(file, broken).catch((e) => (err = e));
    expect(err?.status).toBe(422);
    expect(err.context.file).toBe(file);
    expect(err.context.line).toBe(4);
    expect(readFileSync(file, "utf8")).toBe(TS);
    const renamed = TS.replace("bench:", "optics:");
    const profiles = await saveConfig(file, renamed);
    expect(profiles.map((p) => p.name)).toEqual(["optics"]);
    expect(readFileSync(file, "utf8")).toBe(renamed);
    expect(readFileSync(`${file}.bak`, "utf8")).toBe(TS);
    expect(readdirSync(lab.dir).filter((n) => n.includes(".saving"))).toEqual([]);
  });
});

describe("a .ts configuration whose code never finishes loading", () => {
  test("is refused with 422 after the load bound, leaves no temporary file, and holds up no later save", async () => {
    const lab = labDir({ "lab_servers.ts": TS });
    const file = join(lab.dir, "lab_servers.ts");
    const hangs = `await new Promise(() => {});\n${TS}`;
    const bound = 300;
    const began = performance.now();
    const [refused, next] = await Promise.all([
      saveConfig(file, hangs, { timeoutMs: bound }).catch((e) => e),
      // Queued behind it: it must not wait for a load that never ends.
      saveConfig(file, TS.replace("bench:", "optics:"), { timeoutMs: 10_000 }),
    ]);
    expect(performance.now() - began).toBeLessThan(bound + 5_000);
    expect(refused.status).toBe(422);
    expect(refused.type).toBe("ConfigError");
    expect(refused.message).toContain("did not finish loading");
    expect(refused.context.file).toBe(file);
    expect(next.map((p) => p.name)).toEqual(["optics"]);
    expect(readdirSync(lab.dir).filter((n) => n.includes(".saving"))).toEqual([]);
  });
});
