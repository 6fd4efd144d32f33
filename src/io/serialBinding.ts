// A binding for @serialport/stream backed by the addon's termios port (serialport's own native
// binding crashes bun). Usage:
//   new SerialPortStream({ binding: LabDaemonSerialBinding, path: "/dev/ttyUSB0", baudRate: 115200 })
// The shapes of @serialport/bindings-interface, restated: its package.json "exports" hides its .d.ts from
// TypeScript's bundler resolution, and a binding is checked by shape anyway.
export interface SerialOpenOptions {
  path: string;
  baudRate: number;
  dataBits?: 5 | 6 | 7 | 8;
  lock?: boolean;
  stopBits?: 1 | 1.5 | 2;
  parity?: string;
  rtscts?: boolean;
  xon?: boolean;
  xoff?: boolean;
  xany?: boolean;
  hupcl?: boolean;
}
export interface PortInfo {
  path: string;
  manufacturer: string | undefined;
  serialNumber: string | undefined;
  pnpId: string | undefined;
  locationId: string | undefined;
  productId: string | undefined;
  vendorId: string | undefined;
}
export interface PortStatus {
  cts: boolean;
  dsr: boolean;
  dcd: boolean;
}
export interface SetOptions {
  brk?: boolean;
  cts?: boolean;
  dsr?: boolean;
  dtr?: boolean;
  rts?: boolean;
}
export interface UpdateOptions {
  baudRate: number;
}
type OpenOptions = SerialOpenOptions;

import { readdirSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { native } from "./native.ts";
import "./ioErrors.ts"; // native failures reject with the contract's DeviceError classes

interface NativeSerialPort {
  open(): Promise<void>;
  read(length: number): Promise<Uint8Array>;
  write(data: Uint8Array): Promise<void>;
  update(baudRate: number): Promise<void>;
  set(dtr: boolean, rts: boolean, brk: boolean): Promise<void>;
  get(): Promise<number>;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** serialport's contract: errors of reads/writes cut short by close() carry `canceled: true`. */
class CanceledError extends Error {
  canceled = true;
}

export class LabDaemonSerialPort {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  #port: NativeSerialPort;
  #baudRate: number;

  constructor(port: NativeSerialPort, options: Required<OpenOptions>) {
    this.#port = port;
    this.openOptions = options;
    this.#baudRate = options.baudRate;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    this.#assertOpen();
    let data: Uint8Array;
    try {
      data = await this.#port.read(length);
    } catch (e) {
      throw this.isOpen ? e : new CanceledError("Port is closed");
    }
    if (!this.isOpen) throw new CanceledError("Port is closed");
    buffer.set(data, offset);
    return { buffer, bytesRead: data.byteLength };
  }

  async write(buffer: Buffer): Promise<void> {
    this.#assertOpen();
    if (buffer.length === 0) return;
    try {
      await this.#port.write(buffer);
    } catch (e) {
      throw this.isOpen ? e : new CanceledError("Port is closed");
    }
  }

  async update(options: UpdateOptions): Promise<void> {
    this.#assertOpen();
    await this.#port.update(options.baudRate);
    this.#baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    this.#assertOpen();
    await this.#port.set(options.dtr ?? true, options.rts ?? true, options.brk ?? false);
  }

  async get(): Promise<PortStatus> {
    this.#assertOpen();
    const bits = await this.#port.get();
    return { cts: (bits & 1) !== 0, dsr: (bits & 2) !== 0, dcd: (bits & 4) !== 0 };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    this.#assertOpen();
    return { baudRate: this.#baudRate };
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#port.flush();
  }

  async drain(): Promise<void> {
    this.#assertOpen();
    await this.#port.drain();
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    await this.#port.close();
  }

  #assertOpen(): void {
    if (!this.isOpen) throw new CanceledError("Port is not open");
  }
}

export const LabDaemonSerialBinding: {
  list(): Promise<PortInfo[]>;
  open(options: SerialOpenOptions): Promise<LabDaemonSerialPort>;
} = {
  async list(): Promise<PortInfo[]> {
    return listSerialPorts();
  },
  async open(options: OpenOptions): Promise<LabDaemonSerialPort> {
    if (!options?.path) throw new TypeError('"path" is not a valid port');
    if (!Number.isInteger(options.baudRate)) throw new TypeError('"baudRate" must be an integer');
    const full: Required<OpenOptions> = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: "none",
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
    const port = new native.NativeSerialPort(full.path, full) as NativeSerialPort;
    try {
      await port.open();
    } catch (e) {
      void port.close().catch(() => undefined); // its threads end now, not when GC finds it
      throw e;
    }
    return new LabDaemonSerialPort(port, full);
  },
};

/** Device-backed ttys with what sysfs says about their USB adapter. */
export function listSerialPorts(sysClassTty = "/sys/class/tty"): PortInfo[] {
  if (process.platform === "win32") return listComPorts();
  let names: string[] = [];
  try {
    names = readdirSync(sysClassTty);
  } catch {
    return [];
  }
  const out: PortInfo[] = [];
  for (const name of names) {
    const dev = `${sysClassTty}/${name}/device`;
    if (!existsSync(dev) || !existsSync(`/dev/${name}`)) continue;
    let driver = "";
    try {
      driver = realpathSync(`${dev}/driver`);
    } catch {
      continue;
    }
    if (driver.endsWith("/serial8250")) continue; // legacy ports registered whether or not a UART exists
    const usb = usbAttributes(dev);
    out.push({
      path: `/dev/${name}`,
      manufacturer: usb.manufacturer,
      serialNumber: usb.serial,
      pnpId: undefined,
      locationId: undefined,
      productId: usb.idProduct,
      vendorId: usb.idVendor,
    });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function usbAttributes(dev: string): Record<string, string | undefined> {
  // The USB device directory is an ancestor of the tty's device (interface) directory.
  let dir: string;
  try {
    dir = realpathSync(dev);
  } catch {
    return {};
  }
  for (let i = 0; i < 4 && dir.length > 1; i++) {
    if (existsSync(`${dir}/idVendor`)) {
      const read = (f: string) => {
        try {
          return readFileSync(`${dir}/${f}`, "utf8").trim();
        } catch {
          return undefined;
        }
      };
      return {
        idVendor: read("idVendor"),
        idProduct: read("idProduct"),
        manufacturer: read("manufacturer"),
        serial: read("serial"),
      };
    }
    dir = dir.slice(0, dir.lastIndexOf("/"));
  }
  return {};
}

/** Windows: the COM ports the registry lists (HARDWARE\\DEVICEMAP\\SERIALCOMM, read by the addon). */
function listComPorts(): PortInfo[] {
  return (native.listComPorts() as string[]).map((path) => ({
    path,
    manufacturer: undefined,
    serialNumber: undefined,
    pnpId: undefined,
    locationId: undefined,
    productId: undefined,
    vendorId: undefined,
  }));
}
