// The TypeScript view of a parsed VISA resource string. The grammar itself lives once, in
// native/io/resource_name.cc; this only types its answer and maps its error.
import { native } from "./native.ts";
import { toDeviceError } from "./ioErrors.ts";

export interface ResourceName {
  interfaceType: "TCPIP" | "ASRL" | "GPIB" | "USB";
  board: number;
  resourceClass: string;
  /** The normalised form, e.g. `TCPIP0::10.0.0.5::inst0::INSTR`. */
  canonical: string;
  host?: string;
  port?: number;
  lanDeviceName?: string;
  serialPath?: string;
  primaryAddress?: number;
  secondaryAddress?: number;
  manufacturerId?: string;
  modelCode?: string;
  serialNumber?: string;
  usbInterfaceNumber?: number;
}

/** Throws DeviceConfigurationError naming the wrong part. */
export function parseResourceName(resource: string): ResourceName {
  try {
    return native.parseResourceName(resource) as ResourceName;
  } catch (e) {
    throw toDeviceError(e, resource);
  }
}
