// GPIB and vendor VISA come from libraries loaded at run time. Absent: a clear error saying what to
// install. Present: a stand-in VISA library (test/support/fake_visa.c, built here) is driven through it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager } from "../../src/io/index.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConfigurationError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { dmm } from "../support/simDevices.ts";

const hasGpib = Bun.spawnSync(["sh", "-c", "ldconfig -p | grep -q libgpib.so"]).exitCode === 0;
const hasVisa = Bun.spawnSync(["sh", "-c", "ldconfig -p | grep -qE 'lib(vi|iovi|ktvi|rsvi)sa'"]).exitCode === 0;

describe("optional libraries", () => {
  test.skipIf(hasGpib || hasVisa)("GPIB without linux-gpib or VISA says what to install", async () => {
    const err = await new ResourceManager({ visaLibrary: undefined }).open("GPIB0::5::INSTR").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("linux-gpib");
    expect(err.context.resource).toBe("GPIB0::5::INSTR");
  });

  test.skipIf(hasVisa)("USB without a VISA library says what to install", async () => {
    const err = await new ResourceManager().open("USB0::0x0957::0x1798::MY1::INSTR").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toMatch(/vendor VISA library/);
  });

  test("a named VISA library that does not exist is a DeviceConfigurationError naming it", async () => {
    const rm = new ResourceManager({ visaLibrary: "/nonexistent/libvisa.so" });
    const err = await rm.open("TCPIP::127.0.0.1::5025::SOCKET").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("/nonexistent/libvisa.so");
  });

  test("a bad resource string names the wrong part", async () => {
    const err = await new ResourceManager().open("TCPIP::host::port::SOCKET").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("port 'port' is not a number");
  });
});

const cc = Bun.which("cc") ?? Bun.which("gcc");
describe.skipIf(!cc)("a VISA library loaded at run time", () => {
  let dir: string;
  let lib: string;
  let sim: SocketSimServer;
  beforeAll(() => {
    dir = mkdtempSync(`${tmpdir()}/ld-visa-`);
    lib = `${dir}/libfakevisa.so`;
    const r = Bun.spawnSync([cc!, "-shared", "-fPIC", "-O1", "-o", lib, `${import.meta.dir}/../support/fake_visa.c`]);
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    sim = new SocketSimServer(new SimulatedInstrument(dmm));
  });
  afterAll(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("query, binary block and timeout go through viWrite/viRead with the VISA status", async () => {
    const rm = new ResourceManager({ visaLibrary: lib });
    const inst = await rm.open(sim.resource, { timeoutMs: 20_000 }); // answered queries: a hang guard
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect([...(await inst.queryBinaryBlock("WAV:I16?", { datatype: "int16", bigEndian: true }))]).toEqual([
      -3, -2, -1, 0, 1, 2, 3, 32767,
    ]);
    // 138.0f is 00 00 0a 43: the library stops at that term char inside the block, and reading goes on.
    await inst.write("POIN 200");
    const ramp = await inst.queryBinaryBlock("CURV?");
    expect(ramp.length).toBe(200);
    expect(ramp[138]).toBe(138);
    expect(ramp[199]).toBe(199);
    inst.timeoutMs = 300;
    const err = await inst.query("HANG?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context).toMatchObject({ resource: sim.resource, code: 0xbfff0015 | 0, codeName: "0xBFFF0015" });
    expect(err.message).toContain("VI_ERROR_TMO");
    const srq = await inst.onServiceRequest(() => undefined).catch((e) => e);
    expect(srq).toBeInstanceOf(DeviceConfigurationError);
    expect(srq.message).toContain("vendor VISA library");
    await inst.close();
    expect(await rm.listResources()).toEqual(
      expect.arrayContaining(["USB0::0x0957::0x1798::MY00000001::INSTR", "GPIB0::22::INSTR"]),
    );
  });
});

// A VISA library whose viWrite reports success but never takes a byte: the write must still end.
const stalledWriteVisa = `
#include <stdint.h>
#include <string.h>
typedef int32_t S; typedef uint32_t V;
S viOpenDefaultRM(V* rm) { *rm = 1; return 0; }
S viOpen(V rm, const char* r, V m, V t, V* vi) { *vi = 2; return 0; }
S viClose(V vi) { return 0; }
S viWrite(V vi, const uint8_t* b, V n, V* done) { *done = 0; return 0; }
S viRead(V vi, uint8_t* b, V n, V* got) { *got = 0; return (S)0xBFFF0015; }
S viClear(V vi) { return 0; }
S viSetAttribute(V vi, V a, uint64_t v) { return 0; }
S viStatusDesc(V vi, S s, char* d) { d[0] = 0; return 0; }
S viFindRsrc(V rm, const char* e, V* l, V* c, char* d) { *c = 0; return 0; }
S viFindNext(V l, char* d) { return -1; }
S viLock(V vi, V m, V t, const char* k, char* a) { return 0; }
S viUnlock(V vi) { return 0; }
`;

describe.skipIf(!cc)("a VISA library that misbehaves", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(`${tmpdir()}/ld-visa-stall-`);
    writeFileSync(`${dir}/stall.c`, stalledWriteVisa);
    const r = Bun.spawnSync([cc!, "-shared", "-fPIC", "-O1", "-o", `${dir}/libstallvisa.so`, `${dir}/stall.c`]);
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a viWrite that succeeds without taking a byte times out at the deadline instead of spinning", async () => {
    const rm = new ResourceManager({ visaLibrary: `${dir}/libstallvisa.so` });
    const inst = await rm.open("TCPIP::127.0.0.1::5025::SOCKET", { timeoutMs: 200 });
    const t0 = performance.now();
    const err = await inst.write("*RST").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe("TCPIP::127.0.0.1::5025::SOCKET");
    expect(performance.now() - t0).toBeLessThan(1500);
    await rm.close();
  }, 5000);
});
