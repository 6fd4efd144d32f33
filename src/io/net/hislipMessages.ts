// HiSLIP (IVI-6.1) messages: a 16-byte header ("HS", message type, control code, a 32-bit message
// parameter, a 64-bit payload length) and the payload. Shared by the client and the simulator.
import type { RxBuffer } from "./rxBuffer.ts";

export const HISLIP_PORT = 4880;
export const PROTOCOL_VERSION = 0x0100; // 1.0
export const FIRST_MESSAGE_ID = 0xffffff00;

export const Hs = {
  Initialize: 0,
  InitializeResponse: 1,
  FatalError: 2,
  Error: 3,
  AsyncLock: 4,
  AsyncLockResponse: 5,
  Data: 6,
  DataEnd: 7,
  DeviceClearComplete: 8,
  DeviceClearAcknowledge: 9,
  AsyncRemoteLocalControl: 10,
  AsyncRemoteLocalResponse: 11,
  Trigger: 12,
  Interrupted: 13,
  AsyncInterrupted: 14,
  AsyncMaximumMessageSize: 15,
  AsyncMaximumMessageSizeResponse: 16,
  AsyncInitialize: 17,
  AsyncInitializeResponse: 18,
  AsyncDeviceClear: 19,
  AsyncServiceRequest: 20,
  AsyncStatusQuery: 21,
  AsyncStatusResponse: 22,
  AsyncDeviceClearAcknowledge: 23,
  AsyncLockInfo: 24,
  AsyncLockInfoResponse: 25,
} as const;

export interface HsMessage {
  type: number;
  control: number;
  param: number;
  payload: Buffer;
}

/** The largest payload either side here accepts in one message. */
export const MAX_PAYLOAD = 64 << 20;

export function encode(type: number, control: number, param: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(16 + payload.byteLength);
  out[0] = 0x48; // 'H'
  out[1] = 0x53; // 'S'
  out[2] = type;
  out[3] = control;
  out.writeUInt32BE(param >>> 0, 4);
  out.writeBigUInt64BE(BigInt(payload.byteLength), 8);
  out.set(payload, 16);
  return out;
}

/** A u64 payload (AsyncMaximumMessageSize). */
export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export class HsProtocolError extends Error {}

/** Takes one whole message off `rx`, or null when it holds less. The payload is a copy when `copy`. */
export function take(rx: RxBuffer, copy = true): HsMessage | null {
  if (rx.buffered < 16) return null;
  const b = rx.buf,
    p = rx.pos;
  if (b[p] !== 0x48 || b[p + 1] !== 0x53) throw new HsProtocolError("not a HiSLIP message (no 'HS' prologue)");
  const len = b.readBigUInt64BE(p + 8);
  if (len > BigInt(MAX_PAYLOAD)) throw new HsProtocolError(`HiSLIP payload of ${len} bytes exceeds ${MAX_PAYLOAD}`);
  const n = Number(len);
  if (rx.buffered < 16 + n) return null;
  const view = b.subarray(p + 16, p + 16 + n);
  const msg = {
    type: b[p + 2]!,
    control: b[p + 3]!,
    param: b.readUInt32BE(p + 4),
    payload: copy ? Buffer.from(view) : view,
  };
  rx.pos += 16 + n;
  if (rx.pos >= rx.len) rx.reset();
  return msg;
}
