// USBTMC through the Linux usbtmc driver, without USB hardware: the sysfs matching runs on a fake
// sysfs tree, and the I/O on a stand-in character device (a pty with the simulator behind it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ResourceManager } from "../../src/io/index.ts";
import { findUsbtmcDevice, listUsbtmcDevices } from "../../src/io/usbtmcDevices.ts";
import { servePty, type PtySim } from "../../drivers/sim/scpi/serialPty.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConfigurationError, DeviceConnectionError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { dmm } from "../support/simDevices.ts";

const RESOURCE = "USB0::0x0957::0x1755::MY123::INSTR";
let root: string;
let roots: { sysfsRoot: string; devRoot: string };
let pty: PtySim;

/** /sys/class/usbmisc/<name>/device → an interface of a USB device with these ids. */
function fakeDevice(
  name: string,
  usbDir: string,
  ids: { vendor: string; product: string; serial?: string },
  iface = "00",
): void {
  const dev = join(root, "sys/devices/pci0000:00/0000:00:14.0/usb1", usbDir);
  const ifDir = join(dev, `${usbDir}:1.${Number.parseInt(iface, 16)}`);
  mkdirSync(ifDir, { recursive: true });
  writeFileSync(join(dev, "idVendor"), `${ids.vendor}\n`);
  writeFileSync(join(dev, "idProduct"), `${ids.product}\n`);
  if (ids.serial !== undefined) writeFileSync(join(dev, "serial"), `${ids.serial}\n`);
  writeFileSync(join(ifDir, "bInterfaceNumber"), `${iface}\n`);
  mkdirSync(join(root, "sys/class/usbmisc", name), { recursive: true });
  symlinkSync(ifDir, join(root, "sys/class/usbmisc", name, "device"));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "ld-usbtmc-"));
  roots = { sysfsRoot: join(root, "sys"), devRoot: join(root, "dev") };
  fakeDevice("usbtmc0", "1-1", { vendor: "0957", product: "1755", serial: "MY123" });
  fakeDevice("usbtmc1", "1-2", { vendor: "1ab1", product: "04ce", serial: "DS1ZA1" });
  fakeDevice("usbtmc2", "1-3", { vendor: "zzzz", product: "04ce" }); // unreadable ids: left out
  mkdirSync(join(root, "sys/class/usbmisc/usbtmc3"), { recursive: true }); // no device link: left out
  mkdirSync(join(root, "sys/class/usbmisc/hiddev0"), { recursive: true }); // not usbtmc
  pty = await servePty(new SimulatedInstrument(dmm));
  mkdirSync(roots.devRoot);
  symlinkSync(pty.path, join(roots.devRoot, "usbtmc0")); // the stand-in for /dev/usbtmc0
});
afterAll(async () => {
  await pty.close();
  rmSync(root, { recursive: true, force: true });
});

describe("USBTMC sysfs matching", () => {
  test("lists the usbtmc devices sysfs describes, as VISA resources with their character devices", () => {
    const devices = listUsbtmcDevices(roots);
    expect(devices.map((d) => [d.resource, d.path])).toEqual([
      [RESOURCE, join(roots.devRoot, "usbtmc0")],
      ["USB0::0x1AB1::0x04CE::DS1ZA1::INSTR", join(roots.devRoot, "usbtmc1")],
    ]);
    expect(listUsbtmcDevices({ sysfsRoot: join(root, "nothing-here") })).toEqual([]);
  });

  test("a resource matches by vendor, product, serial and (when given) interface number", () => {
    expect(
      findUsbtmcDevice({ manufacturerId: "0x0957", modelCode: "0x1755", serialNumber: "MY123" }, roots)?.path,
    ).toBe(join(roots.devRoot, "usbtmc0"));
    expect(
      findUsbtmcDevice(
        { manufacturerId: "2391", modelCode: "5973", serialNumber: "MY123", usbInterfaceNumber: 0 },
        roots,
      )?.path,
    ).toBe(join(roots.devRoot, "usbtmc0"));
    expect(
      findUsbtmcDevice(
        { manufacturerId: "0x0957", modelCode: "0x1755", serialNumber: "MY123", usbInterfaceNumber: 1 },
        roots,
      ),
    ).toBeNull();
    expect(
      findUsbtmcDevice({ manufacturerId: "0x0957", modelCode: "0x1755", serialNumber: "OTHER" }, roots),
    ).toBeNull();
  });

  test("listResources (and so `labdaemon resources`) includes them", async () => {
    const rm = new ResourceManager({ usbtmc: roots });
    expect(await rm.listResources()).toEqual(expect.arrayContaining([RESOURCE, "USB0::0x1AB1::0x04CE::DS1ZA1::INSTR"]));
  });
});

describe("USBTMC I/O on a native thread (stand-in device)", () => {
  let rm: ResourceManager;
  beforeAll(() => {
    rm = new ResourceManager({ usbtmc: roots }); // roots exist once the outer beforeAll has run
  });
  afterAll(() => rm.close());

  test("query, a binary block, a timeout that clears, and close({ abort })", async () => {
    const inst = await rm.open(RESOURCE, { timeoutMs: 2000 });
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect([...(await inst.queryBinaryBlock("WAV:I16?", { datatype: "int16", bigEndian: true }))]).toEqual([
      -3, -2, -1, 0, 1, 2, 3, 32767,
    ]);
    inst.timeoutMs = 200;
    const err = await inst.query("HANG?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe(RESOURCE);
    inst.timeoutMs = 2000;
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    // USBTMC service requests (the interrupt endpoint) are not offered: refused, no I/O spent.
    const srq = await inst.waitForServiceRequest({ timeoutMs: 10_000 }).catch((e) => e);
    expect(srq).toBeInstanceOf(DeviceConfigurationError);
    expect(srq.message).toContain("USBTMC service requests");
    inst.timeoutMs = 10_000;
    const t0 = performance.now();
    const pending = inst.query("HANG?").catch((e) => e);
    await Bun.sleep(50); // the read is waiting on the device thread
    await inst.close({ abort: true });
    expect(await pending).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - t0).toBeLessThan(5_000); // not the 10 s the read would have waited
  });

  test("a USB resource no usbtmc device matches says so, and that a vendor VISA library could not be used", async () => {
    const err = await rm.open("USB0::0x0957::0x1755::NOSUCH::INSTR").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("USB0::0x0957::0x1755::NOSUCH::INSTR");
    expect(err.message).toContain("no usbtmc device (/dev/usbtmc*, the Linux kernel driver) matches it");
    expect(err.message).toMatch(/vendor VISA library, the other way to reach it, could not be used either: ./);
  });
});
