// What instruments this PC can reach: serial ports (sysfs, or the registry's COM ports on Windows), USBTMC
// devices from sysfs, the LAN instruments the caller knows, and whatever an installed VISA library or
// linux-gpib reports (visa64.dll on Windows).
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
  for (const port of listSerialPorts(options.sysClassTty)) out.add(serialResource(port.path));
  for (const r of options.lanInstruments ?? []) out.add(r);
  for (const d of listUsbtmcDevices(options.usbtmc)) out.add(d.resource);
  if (typeof native.listNativeResources === "function") {
    const extra = (await native.listNativeResources(options.visaLibrary ?? "")) as string[];
    for (const r of extra) out.add(r);
  }
  return [...out];
}

/** ASRL/dev/ttyUSB0::INSTR on Linux; COM3 is ASRL3::INSTR on Windows, as VISA names it there. */
function serialResource(path: string): string {
  const com = /^COM(\d+)$/i.exec(path);
  return com ? `ASRL${com[1]}::INSTR` : `ASRL${path}::INSTR`;
}
