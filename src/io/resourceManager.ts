// Opens instruments by VISA resource string (pyvisa's ResourceManager, promise-based).
import { native } from "./native.ts";
import { toDeviceError } from "./ioErrors.ts";
import { MessageInstrument, type InstrumentOptions, type NativeSession } from "./messageInstrument.ts";
import { listResources, type ListOptions } from "./listResources.ts";

export interface ResourceManagerOptions {
  /** Route every resource through this vendor VISA library; default: `LABDAEMON_VISA_LIBRARY`, else built-in transports. */
  visaLibrary?: string;
  /** LAN instruments known to this lab (listed by listResources; LAN has no discovery here). */
  lanInstruments?: string[];
}

export class ResourceManager {
  readonly visaLibrary: string | undefined;
  readonly #lan: string[];
  readonly #open = new Set<MessageInstrument>();

  constructor(options: ResourceManagerOptions = {}) {
    this.visaLibrary = options.visaLibrary ?? (process.env.LABDAEMON_VISA_LIBRARY || undefined);
    this.#lan = options.lanInstruments ?? [];
  }

  /** Connects (within `timeoutMs`) and returns the instrument; rejects with a DeviceError naming the resource. */
  async open(resource: string, options: InstrumentOptions = {}): Promise<MessageInstrument> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const readTermination = options.readTermination ?? (options.readTermination === null ? "" : "\n");
    // The session matches readTermination as UTF-8 bytes, so the interface's term char is its last byte.
    const termChar = options.termChar === null ? -1 : options.termChar ?? (readTermination ? Buffer.from(readTermination).at(-1)! : -1);
    let session: NativeSession | undefined;
    try {
      session = new native.NativeSession(resource, {
        ...options,
        termChar,
        visaLibrary: options.visaLibrary ?? this.visaLibrary,
      }) as NativeSession;
      await session.open(timeoutMs);
    } catch (e) {
      // Ends the session's I/O thread now: left to GC, every failed open (a retry loop against an
      // instrument that is off) would keep a thread until the JS heap happens to be collected.
      void session?.close().catch(() => undefined);
      throw toDeviceError(e, resource);
    }
    const instrument: MessageInstrument = new MessageInstrument(resource, session, options, () => this.#open.delete(instrument));
    this.#open.add(instrument);
    return instrument;
  }

  /** Serial ports, configured LAN instruments, and GPIB/VISA resources where those libraries exist. */
  listResources(options: ListOptions = {}): Promise<string[]> {
    return listResources({ lanInstruments: this.#lan, visaLibrary: this.visaLibrary, ...options });
  }

  get openInstruments(): readonly MessageInstrument[] {
    return [...this.#open];
  }

  /** Closes every instrument opened here. */
  async close(): Promise<void> {
    await Promise.all([...this.#open].map((i) => i.close()));
  }
}
