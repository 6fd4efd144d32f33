// Raw HTTP/1.1 over a TCP socket to 127.0.0.1: for requests fetch refuses to send (malformed, hostile)
// and to see exactly what the server writes back, or that it closes the connection without a word.
import { connect } from "node:net";

export interface RawAnswer {
  /** The status of the first response, null when the server wrote nothing. */
  status: number | null;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body, de-chunked. */
  body: string;
  /** Everything the server wrote, as latin1. */
  raw: string;
}

/** Writes `bytes`, reads until the server closes the connection (ask for `Connection: close`). */
export function rawExchange(port: number, bytes: string | Uint8Array, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, "127.0.0.1", () => sock.write(bytes));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `the server neither answered nor closed within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    sock.on("data", (b: Buffer) => chunks.push(b));
    // A reset after the answer (the server closing with request bytes unread) still ends the exchange.
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")));
    });
  });
}

/** One request with the given Host header (fetch would set its own) and `Connection: close`. */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  opts: { host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = {
    "content-length": String(Buffer.byteLength(opts.body ?? "")),
    ...opts.headers,
  };
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return rawExchange(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: ${opts.host ?? "127.0.0.1"}\r\n${extra}Connection: close\r\n\r\n${opts.body ?? ""}`,
  );
}

export function parseAnswer(raw: string): RawAnswer {
  const end = raw.indexOf("\r\n\r\n");
  const head = end < 0 ? raw : raw.slice(0, end);
  const lines = head.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = end < 0 ? "" : raw.slice(end + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
  else if (headers["content-length"] !== undefined) body = body.slice(0, Number(headers["content-length"]));
  return { status: m ? Number(m[1]) : null, headers, body: Buffer.from(body, "latin1").toString("utf8"), raw };
}

function dechunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    if (eol < 0) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
