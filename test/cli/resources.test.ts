// A VISA library the user names must load; `resources` said nothing and exited 0 when it did not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli } from "./runCli.ts";

test("resources --visa-library with a library that does not exist exits 1 naming it and the flag", async () => {
  const r = await runCli(["resources", "--visa-library", "/nonexistent.so"]);
  expect(r.stderr).toBe(
    "labdaemon: resources: cannot load the VISA library '/nonexistent.so' (given by --visa-library): dlopen said: /nonexistent.so: cannot open shared object file: No such file or directory\n",
  );
  expect(r.exitCode).toBe(1);
  expect(r.stdout.toString()).toBe(""); // no serial ports listed as if all were well
});

test("LABDAEMON_VISA_LIBRARY naming a library that does not load exits 1 naming it and the variable", async () => {
  const r = await runCli(["resources"], { env: { LABDAEMON_VISA_LIBRARY: "libnope.so" } });
  expect(r.stderr).toStartWith(
    "labdaemon: resources: cannot load the VISA library 'libnope.so' (given by LABDAEMON_VISA_LIBRARY): dlopen said: libnope.so: ",
  );
  expect(r.exitCode).toBe(1);
});

test("a library that loads but is no VISA library is refused with what it lacks", async () => {
  const r = await runCli(["resources", "--visa-library", "libm.so.6"]);
  expect(r.stderr).toBe(
    "labdaemon: resources: cannot load the VISA library 'libm.so.6' (given by --visa-library): libm.so.6 lacks viOpenDefaultRM: not a VISA library\n",
  );
  expect(r.exitCode).toBe(1);
});

test("query --visa-library with a library that does not load exits 1 before opening anything", async () => {
  const r = await runCli(["query", "TCPIP0::127.0.0.1::1::SOCKET", "*IDN?", "--visa-library", "/nonexistent.so"]);
  expect(r.stderr).toStartWith(
    "labdaemon: query: cannot load the VISA library '/nonexistent.so' (given by --visa-library): dlopen said: ",
  );
  expect(r.exitCode).toBe(1);
});

const cc = Bun.which("cc") ?? Bun.which("gcc");
describe.skipIf(!cc)("a VISA library that loads", () => {
  let dir: string;
  let lib: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ld-cli-visa-"));
    lib = join(dir, "libfakevisa.so");
    const r = Bun.spawnSync([
      cc!,
      "-shared",
      "-fPIC",
      "-O1",
      "-o",
      lib,
      resolve(import.meta.dir, "../support/fake_visa.c"),
    ]);
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("is listed from, by flag or environment, and exits 0", async () => {
    for (const r of [
      await runCli(["resources", "--visa-library", lib]),
      await runCli(["resources"], { env: { LABDAEMON_VISA_LIBRARY: lib } }),
    ]) {
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout.toString().split("\n")).toEqual(
        expect.arrayContaining(["USB0::0x0957::0x1798::MY00000001::INSTR", "GPIB0::22::INSTR"]),
      );
    }
  });
});
