// `labdaemon query` against simulated instruments: terminations named on the command line, a timeout
// that says which terminations were used, and answers printed byte for byte.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { serveSimulators, type DeviceDef, type RunningSimulators } from "../../drivers/sim/scpi/index.ts";
import { crlfDmm } from "../support/simDevices.ts";
import { runCli } from "./runCli.ts";

/** Bytes a UTF-8 decoder mangles (0xBF, 0xFF), and the terminations' own bytes inside block data. */
const RAW = [0x0a, 0xbf, 0x00, 0xff, 0x0d, 0x0a, 0x41, 0x0a];

const scope: DeviceDef = {
  dialogues: [
    { q: "*IDN?", r: "LabDaemon,SimScope,3,1.0" },
    { q: "LATIN?", r: "25\u00b0C" },
  ],
  blocks: [
    { q: "RAW?", datatype: "uint8", length: RAW.length, values: RAW },
    { q: "BIG?", datatype: "uint8", length: 300_000, values: RAW },
  ],
  silent: ["HANG?"],
};

let sims: RunningSimulators;
let laser: string;
let scopeResource: string;
beforeAll(async () => {
  sims = await serveSimulators({
    devices: { laser: crlfDmm, scope },
    resources: [
      { device: "laser", socket: { port: 0 } },
      { device: "scope", socket: { port: 0 } },
    ],
  });
  [laser, scopeResource] = sims.resources.map((r) => r.resource) as [string, string];
});
afterAll(() => sims.close());

function block(data: number[]): Buffer {
  return Buffer.concat([Buffer.from(`#${String(data.length).length}${data.length}`), Buffer.from(data)]);
}

test("a \\r\\n instrument answers once --write-termination and --read-termination name its terminations", async () => {
  const r = await runCli(["query", laser, "*IDN?", "--write-termination", "\\r\\n", "--read-termination", "\\r\\n"]);
  expect([r.exitCode, r.stdout.toString(), r.stderr]).toEqual([0, "LabDaemon,SimDMM,0001,1.0\n", ""]);
  // Read up to "\n" only, the answer's "\r" is not printed either.
  const lf = await runCli(["query", laser, "*IDN?", "--write-termination", "\\x0d\\x0a"]);
  expect([lf.exitCode, lf.stdout.toString()]).toEqual([0, "LabDaemon,SimDMM,0001,1.0\n"]);
  const set = await runCli(["query", laser, "VOLT 2.5", "--write-termination", "\\r\\n"]);
  expect([set.exitCode, set.stdout.toString(), set.stderr]).toEqual([0, "", ""]);
  expect(sims.instruments.get("laser")!.property("voltage")).toBe(2.5);
});

test("a query that times out says which terminations it used and how to name others", async () => {
  const r = await runCli(["query", laser, "*IDN?", "--timeout", "300"]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^labdaemon: TCPIP0::127\.0\.0\.1::\d+::SOCKET: .*timed out/);
  expect(r.stderr).toContain(
    "no answer ending in '\\n' within 300 ms to '*IDN?' + '\\n': if the instrument uses other terminations, name them, e.g. --write-termination '\\r\\n' --read-termination '\\r\\n'\n",
  );
  const none = await runCli([
    "query",
    scopeResource,
    "HANG?",
    "--timeout",
    "200",
    "--write-termination",
    "\\r\\n",
    "--read-termination",
    "none",
  ]);
  expect(none.exitCode).toBe(1);
  expect(none.stderr).toContain(
    "no answer ending in no termination within 200 ms to 'HANG?' + '\\r\\n': if the instrument uses other terminations, name them, e.g. --write-termination '\\n' --read-termination '\\n'\n",
  );
});

test("a binary block is printed byte for byte, whole though its data holds the read termination", async () => {
  for (const term of ["\\n", "\\r\\n", "none"]) {
    const r = await runCli(["query", scopeResource, "RAW?", "--read-termination", term]);
    expect(`${term}: ${r.exitCode} ${r.stderr}`).toBe(`${term}: 0 `);
    expect([...r.stdout]).toEqual([...block(RAW), 0x0a]);
  }
  const big = await runCli(["query", scopeResource, "BIG?"]);
  const data = Array.from({ length: 300_000 }, (_, i) => RAW[i % RAW.length]!);
  expect(big.stdout.equals(Buffer.concat([block(data), Buffer.from("\n")]))).toBe(true);
});

test("a UTF-8 text answer passes through unchanged, not decoded and encoded again", async () => {
  const r = await runCli(["query", scopeResource, "LATIN?"]);
  expect(r.stdout.equals(Buffer.from("25\u00b0C\n"))).toBe(true); // the simulator's UTF-8 bytes, unchanged
});

test("a termination with an unknown escape or a byte beyond ASCII is a usage error", async () => {
  const r = await runCli(["query", laser, "*IDN?", "--read-termination", "\\q"]);
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toBe(
    "labdaemon: --read-termination takes ASCII text with the escapes \\r \\n \\t \\\\ \\xHH (up to \\x7f), or none; got '\\q' (unknown escape \\q)\n",
  );
  const high = await runCli(["query", laser, "*IDN?", "--write-termination", "\\xbf"]);
  expect([high.exitCode, high.stderr]).toEqual([
    2,
    "labdaemon: --write-termination takes ASCII text with the escapes \\r \\n \\t \\\\ \\xHH (up to \\x7f), or none; got '\\xbf' (\\xbf is not ASCII)\n",
  ]);
});
