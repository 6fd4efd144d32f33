// Provenance in every file: the configuration's sha256 and the git commit of its folder, dirty or not, so a
// result can be traced to the code that made it.
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { provenanceOf, sourceHash } from "../../src/data/provenance.ts";
import { RecordAll } from "./support.ts";
import { tempDataDir } from "./support.ts";

const git = (dir: string, ...args: string[]) => {
  const r = Bun.spawnSync(["git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.toString().trim();
};

test("a configuration in a git repository: its hash, the commit, and whether the tree was dirty", () => {
  const dir = tempDataDir();
  const config = join(dir, "lab_servers.yaml");
  writeFileSync(config, "name: bench\n");
  git(dir, "init", "-q");
  git(dir, "add", "lab_servers.yaml");
  git(dir, "commit", "-qm", "lab");
  const head = git(dir, "rev-parse", "HEAD");
  const clean = provenanceOf(config, "real");
  expect(clean).toMatchObject({
    config_file: config,
    config_profile: "real",
    git_commit: head,
    git_dirty: false,
    config_sha256: createHash("sha256").update("name: bench\n").digest("hex"),
  });
  writeFileSync(config, "name: changed\n");
  expect(provenanceOf(config, null)).toMatchObject({ git_commit: head, git_dirty: true });
});

test("outside a repository and for the built-in lab the commit is empty", () => {
  const dir = tempDataDir();
  const config = join(dir, "lab_servers.json");
  writeFileSync(config, "{}");
  expect(provenanceOf(config, null)).toMatchObject({
    git_commit: "",
    git_dirty: false,
    config_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(provenanceOf(null, null)).toMatchObject({ config_file: "", config_sha256: "", git_commit: "" });
});

test("a task class's source hash changes with its code", () => {
  class Other {
    run() {
      return 1;
    }
  }
  expect(sourceHash(RecordAll)).toMatch(/^[0-9a-f]{64}$/);
  expect(sourceHash(RecordAll)).not.toBe(sourceHash(Other));
});
