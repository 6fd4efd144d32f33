// GPIB service requests without GPIB hardware: a stand-in libgpib.so (native/test/fake_gpib, built with
// the addon) answers *IDN? and, after *OPC, shows RQS to a few status checks later with status byte 0x60.
// The library is chosen once per process (LABDAEMON_GPIB_LIBRARY), so the instrument runs in a child.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";

const fakeGpib = `${import.meta.dir}/../../build/Release/libfake_gpib.so`;
const io = `${import.meta.dir}/../../src/io/index.ts`;

test("onServiceRequest on a GPIB resource: RQS polled on the session thread, the serial poll's status byte", async () => {
  expect(existsSync(fakeGpib)).toBe(true); // built by `bun build.ts --native`
  const script = `
    const { ResourceManager } = await import(${JSON.stringify(io)});
    const rm = new ResourceManager();
    const inst = await rm.open("GPIB0::5::INSTR", { timeoutMs: 2000 });
    const idn = await inst.query("*IDN?");
    const seen = [];
    const first = Promise.withResolvers();
    const off = await inst.onServiceRequest((stb) => { seen.push(stb); first.resolve(); });
    const waited = inst.waitForServiceRequest({ timeoutMs: 10000 });
    await inst.write("*OPC");
    await first.promise;
    const stb = await waited;
    off();
    // Requests keep their order beside the checks: a query right after still gets its own answer.
    const again = await inst.query("*IDN?");
    await rm.close();
    console.log(JSON.stringify({ idn, seen, stb, again }));
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], {
    env: { ...process.env, LABDAEMON_GPIB_LIBRARY: fakeGpib },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(out)).toEqual({ idn: "FAKE,GPIB,0,1.0", seen: [0x60], stb: 0x60, again: "FAKE,GPIB,0,1.0" });
}, 40_000);
