// What instruments this PC can reach: serial ports from sysfs, the LAN instruments the caller knows,
// and whatever an installed VISA library or linux-gpib reports.
import { readdirSync, existsSync, readlinkSync } from "node:fs";
import { native } from "./native.ts";

export interface ListOptions {
  lanInstruments?: string[];
  visaLibrary?: string;
  /** Where tty devices are described (tests point it elsewhere). */
  sysClassTty?: string;
}

export async function listResources(options: ListOptions = {}): Promise<string[]> {
  const out = new Set<string>();
  for (const path of serialPorts(options.sysClassTty ?? "/sys/class/tty")) out.add(`ASRL${path}::INSTR`);
  for (const r of options.lanInstruments ?? []) out.add(r);
  if (typeof native.listNativeResources === "function") {
    const extra = (await native.listNativeResources(options.visaLibrary ?? "")) as string[];
    for (const r of extra) out.add(r);
  }
  return [...out];
}

// Only ttys backed by a device (a USB adapter, a real UART): /sys/class/tty holds dozens of virtual ones.
function serialPorts(sysClassTty: string): string[] {
  let names: string[];
  try {
    names = readdirSync(sysClassTty);
  } catch {
    return [];
  }
  const ports: string[] = [];
  for (const name of names) {
    const devLink = `${sysClassTty}/${name}/device`;
    if (!existsSync(devLink)) continue;
    let driver = "";
    try {
      driver = readlinkSync(`${devLink}/driver`);
    } catch {
      // no driver link: not a usable port
    }
    // serial8250 registers 32 legacy ttyS ports whether or not a UART is there.
    if (driver.endsWith("/serial8250")) continue;
    if (existsSync(`/dev/${name}`)) ports.push(`/dev/${name}`);
  }
  return ports.sort();
}
