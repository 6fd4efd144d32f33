// Native I/O failures as the contract's error classes. The native side tags each error with a `kind`;
// the resource string and the OS / VXI-11 / VISA code travel in `context`.
import {
  DeviceConfigurationError,
  DeviceConnectionError,
  DeviceError,
  DeviceOperationError,
  DeviceTimeoutError,
} from "../core/errors.ts";
import { onNativeLoad } from "./native.ts";

export interface IoErrorContext {
  resource: string;
  code: number;
  codeName: string;
  [key: string]: unknown;
}

interface NativeIoFields {
  message: string;
  kind?: string;
  code?: number;
  codeName?: string;
  resource?: string;
}

// `resource`, where the caller knows it, is the string as given: the addon's copy has been through UTF-8.
function fromFields(f: NativeIoFields, resource?: string): DeviceError {
  const context: IoErrorContext = {
    resource: resource ?? f.resource ?? "",
    code: f.code ?? 0,
    codeName: f.codeName ?? "",
  };
  switch (f.kind) {
    case "timeout":
      return new DeviceTimeoutError(f.message, context);
    case "connection":
      return new DeviceConnectionError(f.message, context);
    case "argument":
    case "unsupported":
      return new DeviceConfigurationError(f.message, context);
    default:
      return new DeviceOperationError(f.message, context);
  }
}

// Every promise the addon rejects carries one of these already; its `resource` is the JS string the
// native object was made with.
onNativeLoad((native) => native.setIoErrorFactory((f: NativeIoFields) => fromFields(f)));

/** What the event-loop transports (src/io/net) throw inside: the native IoError's fields, without the resource. */
export class NetIoError extends Error {
  constructor(
    readonly kind: "timeout" | "connection" | "device" | "argument" | "unsupported",
    message: string,
    readonly code = 0,
    readonly codeName = "",
  ) {
    super(message);
  }
}

// As the addon writes a resource into a message: control characters as \xNN.
const printable = (resource: string): string =>
  resource.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/** A NetIoError as the DeviceError the addon would have rejected with: message `<resource>: <what>`. */
export function netDeviceError(e: NetIoError, resource: string): DeviceError {
  return fromFields(
    { message: `${printable(resource)}: ${e.message}`, kind: e.kind, code: e.code, codeName: e.codeName },
    resource,
  );
}

/** An error from the addon's synchronous calls (or anything else) as a DeviceError where it is one. */
export function toDeviceError(e: unknown, resource: string): Error {
  if (e instanceof DeviceError || !(e instanceof Error)) return e as Error;
  const n = e as Error & NativeIoFields;
  if (n.kind === undefined) return e; // a TypeError from argument checks stays what it is
  return fromFields(n, resource);
}
