// Opens instruments by VISA resource string (pyvisa's ResourceManager, promise-based).
import { native } from "./native.ts";
import { toDeviceError } from "./ioErrors.ts";
import { MessageInstrument, type InstrumentOptions } from "./messageInstrument.ts";
import type { NativeSession } from "./session.ts";
import { listResources, type ListOptions } from "./listResources.ts";
import { parseResourceName, type ResourceName } from "./resourceName.ts";
import { NetSession } from "./net/netSession.ts";
import { SocketTransport } from "./net/socketTransport.ts";
import { Vxi11Transport } from "./net/vxi11Transport.ts";
import { HislipTransport } from "./net/hislipTransport.ts";
import { findUsbtmcDevice, type UsbtmcRoots } from "./usbtmcDevices.ts";

/** Where raw-socket and VXI-11 resources do their I/O. */
export type NetIo = "event-loop" | "native";

export interface ResourceManagerOptions {
  /** Route every resource through this vendor VISA library; default: `LABDAEMON_VISA_LIBRARY`, else built-in transports. */
  visaLibrary?: string;
  /** LAN instruments known to this lab (listed by listResources; LAN has no discovery here). */
  lanInstruments?: string[];
  /** SOCKET and VXI-11 resources run on bun's event loop (default), or on a native I/O thread each as
   * GPIB and serial do (`LABDAEMON_NET_IO=native`; for comparison, see bench/visa.ts). */
  netIo?: NetIo;
  /** Where USBTMC devices are looked up (default /sys and /dev; tests use a fake tree). */
  usbtmc?: UsbtmcRoots;
}

export class ResourceManager {
  readonly visaLibrary: string | undefined;
  readonly netIo: NetIo;
  readonly #lan: string[];
  readonly #usbtmc: UsbtmcRoots;
  readonly #open = new Set<MessageInstrument>();

  constructor(options: ResourceManagerOptions = {}) {
    this.visaLibrary = options.visaLibrary ?? (process.env.LABDAEMON_VISA_LIBRARY || undefined);
    this.#lan = options.lanInstruments ?? [];
    this.#usbtmc = options.usbtmc ?? {};
    this.netIo = options.netIo ?? (process.env.LABDAEMON_NET_IO === "native" ? "native" : "event-loop");
  }

  /** Connects (within `timeoutMs`) and returns the instrument; rejects with a DeviceError naming the resource. */
  async open(resource: string, options: InstrumentOptions = {}): Promise<MessageInstrument> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const readTermination = options.readTermination ?? (options.readTermination === null ? "" : "\n");
    // The session matches readTermination as UTF-8 bytes, so the interface's term char is its last byte.
    const termChar =
      options.termChar === null
        ? -1
        : (options.termChar ?? (readTermination ? Buffer.from(readTermination).at(-1)! : -1));
    const visaLibrary = options.visaLibrary ?? this.visaLibrary;
    // A USB instrument the usbtmc kernel driver has bound is opened through its character device;
    // without one, USB resources need a vendor VISA library, as before.
    const usbtmcPath = visaLibrary ? undefined : usbtmcDevicePath(resource, this.#usbtmc);
    const makeNative = (): NativeSession =>
      new native.NativeSession(resource, { ...options, termChar, visaLibrary, usbtmcPath }) as NativeSession;
    const name = this.netIo === "event-loop" && !visaLibrary ? netResource(resource) : null;
    let makeNet: (() => NativeSession) | undefined;
    let hislipResource = false;
    if (name) {
      // Checked as the addon checks it: one byte on the wire (VXI-11 termChar).
      if (!Number.isInteger(termChar) || termChar < -1 || termChar > 255)
        throw new RangeError("termChar must be a byte (0–255) or -1 for none");
      const maxUnread = (options.maxReadBytes ?? 64 * 1024 * 1024) + 65536;
      const hislip = name.lanDeviceName ? HislipTransport.parse(name.lanDeviceName) : null;
      hislipResource = hislip !== null;
      makeNet = () =>
        new NetSession(
          resource,
          name.canonical,
          name.port !== undefined
            ? new SocketTransport(name.host!, name.port, maxUnread)
            : hislip
              ? new HislipTransport(name.host!, hislip.subAddress, hislip.port)
              : new Vxi11Transport(name.host!, name.lanDeviceName!, termChar),
        );
    }
    let session: NativeSession | undefined;
    try {
      session = makeNet ? makeNet() : makeNative();
      await session.open(timeoutMs);
    } catch (e) {
      // Ends the session's I/O thread now: left to GC, every failed open (a retry loop against an
      // instrument that is off) would keep a thread until the JS heap happens to be collected.
      void session?.close().catch(() => undefined);
      throw toDeviceError(e, resource);
    }
    const instrument: MessageInstrument = new MessageInstrument(
      resource,
      session,
      options,
      () => this.#open.delete(instrument),
      makeNet && (hislipResource ? null : makeNative),
    );
    this.#open.add(instrument);
    return instrument;
  }

  /** Serial ports, configured LAN instruments, and GPIB/VISA resources where those libraries exist. */
  listResources(options: ListOptions = {}): Promise<string[]> {
    return listResources({
      lanInstruments: this.#lan,
      visaLibrary: this.visaLibrary,
      usbtmc: this.#usbtmc,
      ...options,
    });
  }

  get openInstruments(): readonly MessageInstrument[] {
    return [...this.#open];
  }

  /** Closes every instrument opened here. */
  async close(): Promise<void> {
    await Promise.all([...this.#open].map((i) => i.close()));
  }
}

// SOCKET, HiSLIP and VXI-11 resources; null for everything else, which stays native.
function netResource(resource: string): ResourceName | null {
  let name: ResourceName;
  try {
    name = parseResourceName(resource);
  } catch {
    return null; // the addon reports it, as it always has
  }
  if (name.interfaceType !== "TCPIP" || !name.host) return null;
  if (name.resourceClass === "SOCKET" && name.port !== undefined) return name;
  if (name.resourceClass === "INSTR" && name.lanDeviceName) {
    // A HiSLIP name with a port the parser cannot use stays with the addon, which reports it.
    if (/^hislip/i.test(name.lanDeviceName) && !HislipTransport.parse(name.lanDeviceName)) return null;
    return name;
  }
  return null;
}

function usbtmcDevicePath(resource: string, roots: UsbtmcRoots): string | undefined {
  let name: ResourceName;
  try {
    name = parseResourceName(resource);
  } catch {
    return undefined;
  }
  if (name.interfaceType !== "USB") return undefined;
  return findUsbtmcDevice(name, roots)?.path;
}
