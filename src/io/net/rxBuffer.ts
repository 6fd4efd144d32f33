// The bytes a session has received and not yet handed out: [pos, len) of `buf`, with the index where
// the interface marked END (VXI-11 END; raw sockets never mark one); decode() hands bytes out.
const EMPTY = Buffer.alloc(0);
const MIN_GROW = 65536;
// A buffer grown for one huge answer is given back when it empties (a big block must not stay pinned).
const KEEP_AT_MOST = 1 << 20;

export class RxBuffer {
  buf: Buffer = EMPTY;
  pos = 0;
  len = 0;
  endAt = -1;

  get buffered(): number {
    return this.len - this.pos;
  }

  /** Adds received bytes. An empty buffer adopts the chunk itself (no copy: the usual whole answer). */
  append(chunk: Uint8Array, end = false): void {
    if (this.pos === this.len && this.endAt < 0) {
      this.buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.pos = 0;
      this.len = chunk.byteLength;
    } else {
      this.#reserve(chunk.byteLength);
      this.buf.set(chunk, this.len);
      this.len += chunk.byteLength;
    }
    if (end) this.endAt = this.len;
  }

  /** Forgets everything buffered. */
  reset(): void {
    this.pos = this.len = 0;
    this.endAt = -1;
    if (this.buf.byteLength > KEEP_AT_MOST) this.buf = EMPTY;
  }

  /** Index of `term` in [from, len), or -1. */
  find(term: Uint8Array | number, from: number): number {
    if (from >= this.len) return -1;
    const at = this.buf.indexOf(term, from);
    // Bytes beyond len are stale; the first match at or after `from` decides (a later valid one cannot exist).
    const size = typeof term === "number" ? 1 : term.byteLength;
    return at >= 0 && at + size <= this.len ? at : -1;
  }

  #reserve(n: number): void {
    if (this.pos > 0 && this.pos >= this.len / 2) {
      // Adopted chunks are exactly sized: move the live bytes into a writable buffer anyway below.
      this.buf.copy(this.buf, 0, this.pos, this.len);
      if (this.endAt >= 0) this.endAt -= this.pos;
      this.len -= this.pos;
      this.pos = 0;
    }
    if (this.len + n <= this.buf.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(MIN_GROW, 2 * (this.len + n)));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }
}

const ENC_UTF8 = 1,
  ENC_LATIN1 = 2;

/** buf[start, end) as UTF-8 (enc 1) or Latin-1 (2) text, or else a copy of the bytes. */
export function decode(buf: Buffer | Uint8Array, enc: number, start = 0, end = buf.byteLength): string | Uint8Array {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (enc === ENC_UTF8) return b.toString("utf8", start, end);
  if (enc === ENC_LATIN1) return b.toString("latin1", start, end);
  return Buffer.from(b.subarray(start, end)); // a copy: the receive buffer is reused
}
