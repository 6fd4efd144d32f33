// What instruments this PC can reach: serial ports and USBTMC devices from sysfs, the LAN instruments the
// caller knows, and whatever an installed VISA library or linux-gpib reports.
import { native } from "./native.ts";
import { listSerialPorts } from "./serialBinding.ts";
import { listUsbtmcDevices, type UsbtmcRoots } from "./usbtmcDevices.ts";

export interface ListOptions {
  lanInstruments?: string[];
  visaLibrary?: string;
  /** Where tty devices are described (tests point it elsewhere). */
  sysClassTty?: string;
  /** Where USBTMC devices are described (tests point it elsewhere). */
  usbtmc?: UsbtmcRoots;
}

export async function listResources(options: ListOptions = {}): Promise<string[]> {
  const out = new Set<string>();
  for (const port of listSerialPorts(options.sysClassTty)) out.add(`ASRL${port.path}::INSTR`);
  for (const r of options.lanInstruments ?? []) out.add(r);
  for (const d of listUsbtmcDevices(options.usbtmc)) out.add(d.resource);
  if (typeof native.listNativeResources === "function") {
    const extra = (await native.listNativeResources(options.visaLibrary ?? "")) as string[];
    for (const r of extra) out.add(r);
  }
  return [...out];
}
