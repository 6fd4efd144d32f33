// The text/event-stream wire format (WHATWG HTML §9.2), written in one place.
import { isoMillis } from "../../core/events.ts";

const encoder = new TextEncoder();

export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // nginx and similar proxies would otherwise hold events back in their buffers.
  "x-accel-buffering": "no",
};

function field(name: string, value: string): string {
  // A CR or LF would end the field early and let a value inject fields of its own.
  if (/[\r\n]/.test(value)) throw new TypeError(`SSE ${name} must not contain CR or LF`);
  return `${name}: ${value}\n`;
}

export interface SseEvent {
  id?: string | number;
  event?: string;
  /** Multi-line data is split into several `data:` lines, which the client joins back with LF. */
  data: string;
}

export function formatEvent(e: SseEvent): string {
  let out = "";
  if (e.id !== undefined) out += field("id", String(e.id));
  if (e.event !== undefined) out += field("event", e.event);
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * The hot path's variant: `json` came from JSON.stringify, which escapes every control character, so it
 * holds no CR/LF and needs no scan or split.
 */
export function formatJsonEvent(id: number, event: string, json: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;
}

export function formatComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The `stream_error` event that precedes every end the server chooses (`ids`: e.g. the device id). */
export function formatStreamError(ids: Record<string, string>, error: { type: string; message: string }): string {
  return formatEvent({
    event: "stream_error",
    data: JSON.stringify({
      ...ids,
      timestamp: isoMillis(Date.now()),
      error: { type: error.type, message: error.message },
    }),
  });
}
