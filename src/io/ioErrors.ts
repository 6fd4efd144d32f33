// Native I/O failures as the contract's error classes. The native side tags each error with a `kind`;
// the resource string and the OS / VXI-11 / VISA code travel in `context`.
import {
  DeviceConfigurationError,
  DeviceConnectionError,
  DeviceError,
  DeviceOperationError,
  DeviceTimeoutError,
} from "../core/errors.ts";

export interface IoErrorContext {
  resource: string;
  code: number;
  codeName: string;
  [key: string]: unknown;
}

interface NativeIoError extends Error {
  kind?: string;
  code?: number;
  codeName?: string;
  resource?: string;
}

export function toDeviceError(e: unknown, resource: string): Error {
  if (e instanceof DeviceError || !(e instanceof Error)) return e as Error;
  const n = e as NativeIoError;
  if (n.kind === undefined) return e; // a TypeError from argument checks stays what it is
  const context: IoErrorContext = { resource: n.resource ?? resource, code: n.code ?? 0, codeName: n.codeName ?? "" };
  switch (n.kind) {
    case "timeout":
      return new DeviceTimeoutError(n.message, context);
    case "connection":
      return new DeviceConnectionError(n.message, context);
    case "argument":
    case "unsupported":
      return new DeviceConfigurationError(n.message, context);
    default:
      return new DeviceOperationError(n.message, context);
  }
}
