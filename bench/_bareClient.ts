// The bare Bun.connect query client the instrument benches measure ours against: the least an event-loop
// client can do (write, frame in the data callback, resolve), shared by bench/visa.ts and bench/visaCpu.ts.

// A bare client: one pending answer, framed in the data callback (a line, or a definite-length block
// copied into one buffer). No deadline, ordering, recovery or error mapping: the floor to compare with.
export class Bare {
  #resolve: ((v: Uint8Array | string) => void) | null = null;
  #block: Buffer | null = null;
  #have = 0;
  #head: Buffer | null = null;
  #mode: "text" | "block" = "text";
  socket!: Awaited<ReturnType<typeof Bun.connect<undefined>>>;

  async connect(port: number): Promise<void> {
    this.socket = await Bun.connect<undefined>({
      hostname: "127.0.0.1",
      port,
      socket: { data: (_s, chunk) => this.#onData(chunk) },
    });
    this.socket.setNoDelay(true);
  }

  query(q: string): Promise<string> {
    this.#mode = "text";
    this.socket.write(q);
    return new Promise((r) => {
      this.#resolve = r as (v: Uint8Array | string) => void;
    });
  }

  block(q: string): Promise<Float32Array> {
    this.#mode = "block";
    this.#block = null;
    this.#head = null;
    this.socket.write(q);
    return new Promise<Uint8Array | string>((r) => {
      this.#resolve = r;
    }).then((b) => new Float32Array((b as Buffer).buffer, (b as Buffer).byteOffset, (b as Buffer).byteLength / 4));
  }

  #onData(chunk: Buffer): void {
    if (this.#mode === "text") {
      const nl = chunk.indexOf(10);
      if (nl >= 0) this.#done(chunk.toString("utf8", 0, nl));
      return;
    }
    let b = this.#block;
    if (b && this.#have === b.byteLength) return this.#done(b); // the newline after the block
    if (!b) {
      const c = this.#head ? Buffer.concat([this.#head, chunk]) : chunk;
      const digits = c[1]! - 0x30;
      if (c.byteLength < 2 + digits) {
        this.#head = c;
        return;
      }
      b = this.#block = Buffer.allocUnsafe(Number(c.toString("latin1", 2, 2 + digits)));
      this.#have = 0;
      chunk = c.subarray(2 + digits);
    }
    const n = Math.min(chunk.byteLength, b.byteLength - this.#have);
    b.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n), this.#have);
    this.#have += n;
    if (this.#have === b.byteLength && chunk.byteLength > n) this.#done(b);
  }

  #done(v: Uint8Array | string): void {
    const r = this.#resolve!;
    this.#resolve = null;
    r(v);
  }
}
