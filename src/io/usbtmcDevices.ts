// USBTMC instruments the Linux usbtmc driver has bound: each /sys/class/usbmisc/usbtmcN points (through
// its `device` link) at a USB interface whose parent directory is the USB device with its idVendor,
// idProduct and serial. That names the instrument (USB0::0x0957::0x1755::MY123::INSTR) and its
// character device (/dev/usbtmcN).
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

export interface UsbtmcRoots {
  /** Default /sys (tests use a fake tree). */
  sysfsRoot?: string;
  /** Default /dev. */
  devRoot?: string;
}

export interface UsbtmcDevice {
  vendorId: number;
  productId: number;
  serial: string;
  interfaceNumber: number;
  /** The character device, e.g. /dev/usbtmc0. */
  path: string;
  resource: string;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
};

const hex4 = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;

/** Every usbtmc device sysfs describes; an entry it describes only in part is left out. */
export function listUsbtmcDevices(roots: UsbtmcRoots = {}): UsbtmcDevice[] {
  const sys = roots.sysfsRoot ?? "/sys";
  const dev = roots.devRoot ?? "/dev";
  const classDir = join(sys, "class", "usbmisc");
  let names: string[];
  try {
    names = readdirSync(classDir)
      .filter((n) => /^usbtmc\d+$/.test(n))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  } catch {
    return []; // no usbtmc driver loaded, or no sysfs
  }
  const out: UsbtmcDevice[] = [];
  for (const name of names) {
    let iface: string;
    try {
      iface = realpathSync(join(classDir, name, "device"));
    } catch {
      continue;
    }
    const usb = dirname(iface);
    const vendor = read(join(usb, "idVendor"));
    const product = read(join(usb, "idProduct"));
    if (!vendor || !product || !/^[0-9a-f]{4}$/i.test(vendor) || !/^[0-9a-f]{4}$/i.test(product)) continue;
    const serial = read(join(usb, "serial")) ?? "";
    const ifNum = Number.parseInt(read(join(iface, "bInterfaceNumber")) ?? "0", 16);
    const vendorId = Number.parseInt(vendor, 16),
      productId = Number.parseInt(product, 16);
    out.push({
      vendorId,
      productId,
      serial,
      interfaceNumber: Number.isFinite(ifNum) ? ifNum : 0,
      path: join(dev, name),
      resource: `USB0::${hex4(vendorId)}::${hex4(productId)}::${serial}::INSTR`,
    });
  }
  return out;
}

/** The device a USB resource names (vendor, product, serial and, when given, the interface number). */
export function findUsbtmcDevice(
  want: { manufacturerId?: string; modelCode?: string; serialNumber?: string; usbInterfaceNumber?: number },
  roots: UsbtmcRoots = {},
): UsbtmcDevice | null {
  const vendor = Number(want.manufacturerId),
    product = Number(want.modelCode);
  return (
    listUsbtmcDevices(roots).find(
      (d) =>
        d.vendorId === vendor &&
        d.productId === product &&
        d.serial === (want.serialNumber ?? "") &&
        (want.usbInterfaceNumber === undefined || d.interfaceNumber === want.usbInterfaceNumber),
    ) ?? null
  );
}
