// What a config file may be before it is parsed: a regular file, at most 16 MiB, strict UTF-8.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, discoverConfig, loadConfigFile, MAX_CONFIG_BYTES } from "../../src/cli/config.ts";
import { runCli } from "./runCli.ts";

const dir = mkdtempSync(join(tmpdir(), "ld-cfgfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadError(path: string): Promise<string> {
  const e = await loadConfigFile(path).then(
    () => null,
    (err) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return (e as Error).message;
}

test("a config file over 16 MiB is refused before it is parsed", async () => {
  const f = join(dir, "big.json");
  writeFileSync(f, `{"name": "${"x".repeat(MAX_CONFIG_BYTES)}"}`);
  const started = performance.now();
  expect(await loadError(f)).toBe(
    `${f}: config file too large (${MAX_CONFIG_BYTES + 12} bytes; at most ${MAX_CONFIG_BYTES})`,
  );
  expect(performance.now() - started).toBeLessThan(500);
});

test("a config that is not UTF-8 is a config error naming the line, column and byte (exit 3)", async () => {
  const f = join(dir, "latin1.yaml");
  writeFileSync(
    f,
    Buffer.concat([Buffer.from("name: lab\ndescription: 20 "), Buffer.from([0xb5]), Buffer.from("m\n")]),
  );
  expect(await loadError(f)).toBe(`${f}:2:17: not UTF-8 (byte 0xb5 at offset 26); save the file as UTF-8`);
  const overlong = join(dir, "overlong.json");
  writeFileSync(overlong, Buffer.concat([Buffer.from('{"name": "µ'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]));
  expect(await loadError(overlong)).toBe(
    `${overlong}:1:12: not UTF-8 (byte 0xc0 at offset 12); save the file as UTF-8`,
  );
  const r = await runCli(["serve", "--config", f, "--port", "0"]);
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toContain(`${f}:2:17: not UTF-8`);
});

test("a directory given as the config says it is a directory", async () => {
  const d = join(dir, "lab_servers.yaml");
  mkdirSync(d);
  expect(await loadError(d)).toBe(`${d}: is a directory, not a config file`);
  expect(() => discoverConfig({ flag: d })).toThrow(`${d}: is a directory, not a config file (given by --config)`);
  const r = await runCli(["serve", "--port", "0"], { env: { LABDAEMON_CONFIG: d } });
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toBe(`labdaemon: ${d}: is a directory, not a config file (given by LABDAEMON_CONFIG)\n`);
});

test("a FIFO given as the config is refused as not a regular file instead of blocking the read", async () => {
  const fifo = join(dir, "fifo.yaml");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  expect(() => discoverConfig({ flag: fifo })).toThrow(`${fifo}: not a regular file (given by --config)`);
  expect(await loadError(fifo)).toBe(`${fifo}: not a regular file`);
});
