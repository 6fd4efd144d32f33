// The README's "Saving data" Python snippet is real: it reads a recording made by the server with h5py.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startDataServer, tempDataDir, until, type DataServer } from "./support.ts";

let s: DataServer | undefined;
afterAll(() => s?.close());

test("the README's h5py snippet reads a stream recording", async () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const at = readme.indexOf("## Saving data");
  const section = readme.slice(at, readme.indexOf("\n## ", at + 5));
  const python = /```python\n([\s\S]*?)```/.exec(section)![1]!;
  s = await startDataServer(tempDataDir());
  const rec = await s.req("POST", "/devices/daq1/record", { notes: "readme" });
  await until(
    async () =>
      ((await s!.req("GET", `/runs/${rec.body.run_id}`)).body.datasets.find((d: any) => d.name === "samples")
        ?.shape[0] ?? 0) >= 2000,
    "samples",
  );
  const run = (await s.req("POST", `/runs/${rec.body.run_id}/stop`)).body;
  const file = s.data.catalogue.run(run.run_id)!.file;
  const r = Bun.spawnSync(["/usr/bin/python3", "-c", `RUN_FILE = ${JSON.stringify(file)}\n${python}`], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  expect(r.stdout.toString()).toContain(`${run.metadata.sample_count} samples from daq1`);
}, 30_000);
