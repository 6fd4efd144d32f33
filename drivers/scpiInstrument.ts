// ScpiInstrument: any SCPI instrument over any resource string the io room can open (LAN socket,
// VXI-11, serial, GPIB, a vendor VISA) — enough to drive an instrument that has no driver of its own.
import type { StaticDecode } from "@sinclair/typebox";
import { t } from "elysia";
import { DeviceConfigurationError, DeviceNotConnectedError, DeviceOperationError } from "../src/core/errors.ts";
import type { ServiceRequestForward } from "../src/core/deviceSrq.ts";
import { parseResourceName, ResourceManager, type BlockDatatype, type MessageInstrument } from "../src/io/index.ts";

const termination = (description: string) => t.Optional(t.Union([t.String(), t.Null()], { description }));

/** What the constructor reads; the daemon refuses anything else before constructing. */
const ScpiInstrumentParamsSchema = t.Object(
  {
    resource: t.String({
      minLength: 1,
      description: 'VISA resource string, e.g. "TCPIP0::192.168.1.20::5025::SOCKET" or "ASRL/dev/ttyUSB0::INSTR"',
    }),
    timeoutMs: t.Optional(t.Number({ exclusiveMinimum: 0, description: "per request, ms; default 2000" })),
    readTermination: termination('default "\\n"; null: none'),
    writeTermination: termination('default "\\n"; null: none'),
    baudRate: t.Optional(
      t.Integer({ minimum: 1, description: "serial line speed, when the resource is a serial port" }),
    ),
    visaLibrary: t.Optional(
      t.String({ minLength: 1, description: "a vendor VISA library to route this resource through" }),
    ),
    serviceRequests: t.Optional(
      t.Boolean({
        description:
          "forward the instrument's service requests (HiSLIP, VXI-11, GPIB) as device_srq events from connect on; " +
          "connect fails on a resource that has none",
      }),
    ),
  },
  { additionalProperties: false },
);

export type ScpiInstrumentParams = StaticDecode<typeof ScpiInstrumentParamsSchema>;

const DATATYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"] as const;
/** A real instrument's error queue is short; this bounds a queue that never reports "0,". */
const MAX_ERRORS = 100;

let sharedManager: ResourceManager | null = null;
const manager = () => (sharedManager ??= new ResourceManager());

export class ScpiInstrument {
  static params = ScpiInstrumentParamsSchema;
  /** What a client may call over HTTP; everything else stays in-process. */
  static remote = ["idn", "reset", "clear", "write", "query", "queryBinary", "errors", "enableServiceRequests"];
  // Parameters named in the metadata, so kwargs and /methods keep their names even in a minified build.
  static methods = {
    idn: { params: {}, doc: "The *IDN? answer: manufacturer, model, serial number, firmware." },
    reset: { params: {}, doc: "*RST: the instrument's default state." },
    clear: {
      params: {},
      doc: "Device clear, then *CLS: aborts what the instrument was doing and empties its error queue and output buffer.",
    },
    write: {
      params: { command: t.String({ minLength: 1, maxLength: 65536, description: "SCPI command" }) },
      doc: "Sends a command; nothing is read.",
    },
    query: {
      params: { command: t.String({ minLength: 1, maxLength: 65536, description: "SCPI query" }) },
      doc: "Sends a query and returns its answer (without the termination).",
    },
    queryBinary: {
      params: {
        command: t.String({
          minLength: 1,
          maxLength: 65536,
          description: "SCPI query answered with an IEEE 488.2 block",
        }),
        datatype: t.Optional(
          t.Union(
            DATATYPES.map((d) => t.Literal(d)),
            { default: "float32" },
          ),
        ),
        bigEndian: t.Optional(t.Boolean({ description: "the block's byte order is big endian", default: false })),
      },
      doc: "Sends a query answered by an IEEE 488.2 binary block and returns its values.",
    },
    errors: { params: {}, doc: 'Reads SYST:ERR? until the queue is empty ("0,…"); returns the errors read.' },
    enableServiceRequests: {
      params: {
        eventMask: t.Optional(
          t.Integer({ minimum: 0, maximum: 255, default: 1, description: "*ESE: events summarised in ESB" }),
        ),
        serviceMask: t.Optional(
          t.Integer({ minimum: 0, maximum: 255, default: 32, description: "*SRE: status bits that request service" }),
        ),
      },
      doc:
        "Forwards the instrument's service requests as device_srq events and sends *CLS, *ESE and *SRE " +
        "(by default: operation complete after *OPC requests service).",
    },
  };

  readonly deviceId: string;
  readonly resource: string;
  readonly #params: ScpiInstrumentParams;
  #instrument: MessageInstrument | null = null;
  #forward: ServiceRequestForward | null = null;
  #srqArmed = false;

  constructor(deviceId: string, params: ScpiInstrumentParams) {
    this.deviceId = deviceId;
    if (!params || typeof params.resource !== "string" || params.resource.trim() === "") {
      throw new DeviceConfigurationError(
        `ScpiInstrument '${deviceId}' needs a 'resource' parameter (a VISA resource string)`,
        { device_id: deviceId },
      );
    }
    // Refused when added (the server's 400 names the wrong part), not first at connect.
    parseResourceName(params.resource);
    this.resource = params.resource;
    this.#params = params;
  }

  async connect(): Promise<void> {
    if (this.#instrument) return;
    const p = this.#params;
    this.#instrument = await manager().open(this.resource, {
      timeoutMs: p.timeoutMs,
      readTermination: p.readTermination,
      writeTermination: p.writeTermination,
      baudRate: p.baudRate,
      visaLibrary: p.visaLibrary,
    });
    this.#srqArmed = false;
    if (p.serviceRequests) {
      try {
        await this.#armServiceRequests(this.#instrument);
      } catch (e) {
        await this.disconnect();
        throw e;
      }
    }
  }

  /** The daemon's hook: `forward` is called with the status byte at each service request. */
  attachServiceRequests(forward: ServiceRequestForward): void {
    this.#forward = forward;
  }

  /** Forwards service requests from now on, then enables them in the instrument (*CLS, *ESE, *SRE). */
  async enableServiceRequests(eventMask = 1, serviceMask = 32): Promise<void> {
    const i = this.#live();
    for (const [name, v] of [
      ["eventMask", eventMask],
      ["serviceMask", serviceMask],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 255)
        throw new DeviceOperationError(`${name} must be a whole number within 0–255, got ${v}`, {
          device_id: this.deviceId,
        });
    }
    await this.#armServiceRequests(i);
    // An event left latched from before would keep its summary bit up, and the next one would then be
    // no new reason for service: *CLS starts from a clear register.
    await i.write("*CLS");
    await i.write(`*ESE ${eventMask}`);
    await i.write(`*SRE ${serviceMask}`);
  }

  async #armServiceRequests(i: MessageInstrument): Promise<void> {
    if (this.#srqArmed) return;
    await i.onServiceRequest((stb) => this.#forward?.(stb));
    this.#srqArmed = true;
  }

  /**
   * Closes the resource. A request still in progress (the daemon runs a disconnect beside a call that
   * timed out on a hung instrument) has its I/O aborted, so it fails now instead of at its I/O timeout.
   */
  async disconnect(): Promise<void> {
    const i = this.#instrument;
    this.#instrument = null;
    await i?.close({ abort: true });
  }

  isConnected(): boolean {
    return this.#instrument !== null;
  }

  async idn(): Promise<string> {
    return (await this.#live().query("*IDN?")).trim();
  }

  async reset(): Promise<void> {
    await this.#live().write("*RST");
  }

  async clear(): Promise<void> {
    const i = this.#live();
    await i.clear();
    await i.write("*CLS");
  }

  async write(command: string): Promise<void> {
    await this.#live().write(command);
  }

  async query(command: string): Promise<string> {
    return (await this.#live().query(command)).trim();
  }

  async queryBinary(
    command: string,
    datatype: BlockDatatype = "float32",
    bigEndian = false,
  ): Promise<ArrayLike<number>> {
    if (!DATATYPES.includes(datatype)) {
      throw new DeviceOperationError(`unknown datatype '${datatype}' (one of ${DATATYPES.join(", ")})`, {
        device_id: this.deviceId,
      });
    }
    return await this.#live().queryBinaryBlock(command, { datatype, bigEndian });
  }

  async errors(): Promise<string[]> {
    const out: string[] = [];
    const i = this.#live();
    for (let n = 0; n < MAX_ERRORS; n++) {
      const answer = (await i.query("SYST:ERR?")).trim();
      if (/^[+]?0\s*,/.test(answer)) return out;
      out.push(answer);
    }
    throw new DeviceOperationError(`${this.resource}: SYST:ERR? still reported errors after ${MAX_ERRORS} reads`, {
      device_id: this.deviceId,
      resource: this.resource,
      errors: out,
    });
  }

  #live(): MessageInstrument {
    if (!this.#instrument) {
      throw new DeviceNotConnectedError(`ScpiInstrument '${this.deviceId}' (${this.resource}) is not connected`, {
        device_id: this.deviceId,
        resource: this.resource,
      });
    }
    return this.#instrument;
  }
}
