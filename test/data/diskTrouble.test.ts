// A full disk during a recording: the recording stops with a stored error naming the cause, the file stays
// readable, the server stays up; a read-only directory is refused at start. Needs a tmpfs (root, as in CI).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { h5py, startDataServer, until, type DataServer } from "./support.ts";

const mounts: string[] = [];
function tmpfs(size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), "ld-tmpfs-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "pipe" });
  if (r.exitCode !== 0) return null;
  mounts.push(dir);
  return dir;
}
const canMount = (() => {
  const d = tmpfs("1m");
  return d !== null;
})();

afterAll(() => {
  for (const d of mounts) {
    Bun.spawnSync(["umount", "-l", d]);
    rmSync(d, { recursive: true, force: true });
  }
});

async function recordUntilStopped(s: DataServer, device: string): Promise<any> {
  const r = await s.req("POST", `/devices/${device}/record`, {});
  expect(r.status).toBe(200);
  return { runId: r.body.run_id as string };
}

test("a data directory that cannot be made is refused naming the folder and the OS error once", async () => {
  const parent = mkdtempSync(join(tmpdir(), "ld-datadir-"));
  try {
    const file = join(parent, "a-file");
    writeFileSync(file, "a file where a folder should be");
    const err = await startDataServer(join(file, "data")).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe("DataDirError");
    expect(err?.message).toBe(
      `data directory ${join(file, "data")} cannot be used: ENOTDIR: not a directory, mkdir '${join(file, "data")}'`,
    );
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

describe.skipIf(!canMount)("disk trouble during a recording", () => {
  test("disk full: the run fails naming the full disk, the file opens in h5py, the server answers", async () => {
    const dir = tmpfs("3m")!;
    const s = await startDataServer(dir, { daqRate: 1_000_000 });
    try {
      const { runId } = await recordUntilStopped(s, "daq1");
      const run = await until(
        async () => {
          const r = await s.req("GET", `/runs/${runId}`);
          return r.body.status !== "recording" ? r.body : null;
        },
        "the recording to stop on a full disk",
        20_000,
      );
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(/No space left on device/);
      expect(run.error).toMatch(/the disk is full/);
      // What was in flight when the file failed was answered (dropped): nothing is left counted as waiting.
      expect(s.data["writer"].backlogBytes).toBe(0);
      expect((await s.req("GET", "/health")).status).toBe(200);
      expect((await s.req("GET", "/devices/daq1")).body.streaming).toBe(false);
      const got = h5py(
        s.data.catalogue.run(runId)!.file,
        `
f = h5py.File(FILE, "r")
print(json.dumps({"keys": sorted(f.keys()), "run": py(f.attrs["run_id"])}))`,
      );
      expect(got.run).toBe(runId);
    } finally {
      await s.close();
    }
  }, 60_000);

  test("a read-only data directory is refused when the store opens, naming the folder", async () => {
    const dir = tmpfs("1m")!;
    expect(Bun.spawnSync(["mount", "-o", "remount,ro", dir]).exitCode).toBe(0);
    const err = await startDataServer(dir).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe("DataDirError");
    expect(err?.message).toContain(dir);
    expect(err?.message).toMatch(/EROFS|read-only/);
  }, 60_000);
});
