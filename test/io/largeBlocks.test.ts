// Large blocks on a raw socket are read by a native worker while bun's socket is paused — the rest of the
// first one, the next ones (and any read into a caller's `into` array) from their first byte: whole, in
// order with what follows, falling back the general way for answers that are not what was expected, and
// cut short by a deadline, an abort or the peer going away.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { DeviceConfigurationError, DeviceConnectionError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { blockArray, MAX_BLOCK_ARRAY_BYTES, ResourceManager } from "../../src/io/index.ts";
import { native } from "../../src/io/native.ts";
import { NATIVE_READ_ABOVE } from "../../src/io/net/fdReader.ts";

const rm = new ResourceManager({ netIo: "event-loop" });
// 4 MB: bun hands the data callback at most 512 kB at a time, so whatever the first chunk holds, more
// than NATIVE_READ_ABOVE is still to come after it.
const N = 4 << 20;
const payload = new Uint8Array(N);
for (let i = 0; i < N; i++) payload[i] = (i * 7 + (i >> 11)) & 255;
const header = `#7${N}`;

interface Conn {
  n: number;
  text: string;
  out: Uint8Array[];
}
const servers: TCPSocketListener<Conn>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
  workerReads.splice(0);
  workerCalled = workerDone = null;
});

// Every job the worker is given, observed by wrapping the addon's methods (the calls are unchanged): a
// `read` of the rest of a block, or a `readBlock` of a whole answer. `workerDone` runs when a job's
// promise settles, before the link sees its result.
const workerReads: { kind: "read" | "readBlock"; offset: number; length: number }[] = [];
let workerCalled: (() => void) | null = null;
let workerDone: (() => void) | null = null;
let lastReader: { scratchBytes: number } | null = null;
type Method = (...a: unknown[]) => Promise<unknown>;
const proto = (native.FdReader as { prototype: Record<"read" | "readBlock", Method> }).prototype;
for (const kind of ["read", "readBlock"] as const) {
  const real = proto[kind];
  proto[kind] = function (this: unknown, ...a: unknown[]) {
    workerReads.push({ kind, offset: kind === "read" ? (a[2] as number) : 0, length: (a[1] as Uint8Array).byteLength });
    lastReader = this as { scratchBytes: number };
    workerCalled?.();
    return real.apply(this, a).finally(() => workerDone?.());
  };
}
const kinds = () => workerReads.map((r) => r.kind).join(" ");
const same = (a: ArrayBufferView, b: Uint8Array) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), b) === 0;

// Writes everything, waiting for the socket to drain as often as it must.
function send(s: Socket<Conn>, bytes: Uint8Array | string): void {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  if (s.data.out.length > 0) return void s.data.out.push(b);
  const n = s.write(b);
  if (n < b.byteLength) s.data.out.push(b.subarray(Math.max(0, n)));
}

/** A peer answering each line through `answer`; returns the resource string. */
function peer(answer: (line: string, s: Socket<Conn>) => void): string {
  let connections = 0;
  const server = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { n: connections++, text: "", out: [] };
      },
      data(s, chunk) {
        s.data.text += chunk.toString("latin1");
        for (let nl = s.data.text.indexOf("\n"); nl >= 0; nl = s.data.text.indexOf("\n")) {
          const line = s.data.text.slice(0, nl);
          s.data.text = s.data.text.slice(nl + 1);
          answer(line, s);
        }
      },
      drain(s) {
        while (s.data.out.length > 0) {
          const b = s.data.out[0]!;
          const n = s.write(b);
          if (n < b.byteLength) {
            s.data.out[0] = b.subarray(Math.max(0, n));
            return;
          }
          s.data.out.shift();
        }
      },
    },
  });
  servers.push(server);
  return `TCPIP0::127.0.0.1::${server.port}::SOCKET`;
}

/** A stalling peer, and its connection once it has stalled: the test sends the rest itself. */
function heldPeer(): { res: string; peerSocket: Promise<Socket<Conn>> } {
  let held: (s: Socket<Conn>) => void;
  const peerSocket = new Promise<Socket<Conn>>((r) => (held = r));
  return { res: stallingPeer((s) => held(s)), peerSocket };
}

/** A peer that sends the header and the first 300 kB of the block, then does `then` (or nothing). */
function stallingPeer(then?: (s: Socket<Conn>) => void): string {
  return peer((line, s) => {
    if (line === "BLK?") {
      send(s, header);
      send(s, payload.subarray(0, 300 << 10));
      then?.(s);
    }
    if (line === "TXT?") send(s, `after ${s.data.n}\n`);
  });
}

describe("large blocks on a LAN socket", () => {
  test("4 MB blocks arrive whole through the worker, each followed in order by a text answer", async () => {
    const res = peer((line, s) => {
      if (line === "BLK?") {
        send(s, header);
        send(s, payload);
        send(s, "\n");
      }
      if (line === "TXT?") send(s, "after\n");
    });
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    for (let round = 0; round < 3; round++) {
      const [block, text] = await Promise.all([
        inst.queryBinaryBlock("BLK?", { datatype: "uint8" }),
        inst.query("TXT?"),
      ]);
      expect(block.length).toBe(N);
      expect(same(block, payload)).toBe(true);
      expect(text).toBe("after");
    }
    // The first block's header comes through bun, and the worker reads its rest; knowing the length, the
    // worker reads the next answers from their first byte.
    expect(kinds()).toBe("read readBlock readBlock");
    expect(workerReads[0]!.length - workerReads[0]!.offset).toBeGreaterThanOrEqual(NATIVE_READ_ABOVE);
    await inst.close();
  });

  test("into: the data lands in the caller's array, block after block; one too long comes in a new array", async () => {
    const big = payload.subarray(0, 2 << 20);
    const res = peer((line, s) => {
      const m = /^BLK (\d+)$/.exec(line);
      if (!m) return;
      const n = Number(m[1]);
      send(s, `#${String(n).length}${n}`);
      send(s, big.subarray(0, n));
      send(s, "\n");
    });
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const into = new Float32Array(N / 4 / 2); // 2 MB
    for (const n of [2 << 20, 1 << 20, 2 << 20]) {
      const block = await inst.queryBinaryBlock(`BLK ${n}`, { into });
      expect(block).toBeInstanceOf(Float32Array);
      expect(block.buffer).toBe(into.buffer);
      expect(block.length).toBe(n / 4);
      expect(same(block, big.subarray(0, n))).toBe(true);
    }
    expect(kinds()).toBe("readBlock readBlock readBlock");
    // A block longer than `into`: the worker takes its header only; the data comes in a new array.
    const small = new Float32Array(1000);
    const longer = await inst.queryBinaryBlock(`BLK ${1 << 20}`, { into: small });
    expect(longer.buffer).not.toBe(small.buffer);
    expect(same(longer, big.subarray(0, 1 << 20))).toBe(true);
    // Small blocks copy into `into` (the event loop reads them).
    const tiny = await inst.queryBinaryBlock("BLK 8", { into: small, datatype: "uint8" });
    expect(tiny.buffer).toBe(small.buffer);
    expect([...tiny]).toEqual([...big.subarray(0, 8)]);
    // Misaligned for the datatype: refused before anything is sent.
    const misaligned = new Uint8Array(new ArrayBuffer(64), 1, 62);
    await expect(inst.queryBinaryBlock("BLK 8", { into: misaligned, datatype: "int16" })).rejects.toThrow(RangeError);
    expect(await inst.queryBinaryBlock("BLK 16", { datatype: "uint8" })).toHaveLength(16);
    await inst.close();
  });

  test("after a large block, answers of another shape still come right: shorter, longer, echoed header, indefinite length", async () => {
    const res = peer((line, s) => {
      const m = /^BLK (\d+)$/.exec(line);
      if (m) {
        const n = Number(m[1]);
        send(s, `#${String(n).length}${n}`);
        send(s, payload.subarray(0, n));
        send(s, "\n");
      }
      if (line === "ECHO?") {
        send(s, `CURV ${header}`);
        send(s, payload);
        send(s, "\n");
      }
      if (line === "ZERO?") send(s, "#0abc\n");
    });
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const q = (cmd: string) => inst.queryBinaryBlock(cmd, { datatype: "uint8" });
    expect(same(await q(`BLK ${1 << 20}`), payload.subarray(0, 1 << 20))).toBe(true);
    expect(same(await q(`BLK ${300 << 10}`), payload.subarray(0, 300 << 10))).toBe(true);
    expect(same(await q(`BLK ${N}`), payload)).toBe(true);
    expect(same(await q("ECHO?"), payload)).toBe(true);
    expect(same(await q(`BLK ${N}`), payload)).toBe(true);
    expect(Buffer.from(await q("ZERO?")).toString()).toBe("abc");
    expect(same(await q(`BLK ${N}`), payload)).toBe(true);
    const short = await q("BLK 100");
    expect(same(short, payload.subarray(0, 100))).toBe(true);
    expect(short.buffer.byteLength).toBeLessThan(1 << 20); // its own buffer, not a view of a 4 MB guess
    expect(workerReads.filter((r) => r.kind === "readBlock").length).toBeGreaterThanOrEqual(4);
    await inst.close();
  });

  test("a block that stops coming times out at its deadline; the next query gets its own answer", async () => {
    const inst = await rm.open(stallingPeer(), { timeoutMs: 300 });
    const err = await inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(kinds()).toBe("read");
    expect(await inst.query("TXT?")).toBe("after 1"); // on a new connection: the rest can never be taken for it
    await inst.close();
  });

  test("close({ abort: true }) ends a read the worker waits in at once, not at its 60 s deadline", async () => {
    const inst = await rm.open(stallingPeer(), { timeoutMs: 60_000 });
    const waiting = new Promise<void>((r) => (workerCalled = r));
    const started = performance.now();
    const pending = inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e);
    await waiting;
    workerCalled = null;
    await inst.close({ abort: true });
    const err = await pending;
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  test("the peer closing partway is a connection error, and the next query reconnects", async () => {
    const inst = await rm.open(
      stallingPeer((s) => s.end()),
      { timeoutMs: 10_000 },
    );
    const err = await inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(await inst.query("TXT?")).toBe("after 1");
    await inst.close();
  });

  test("reads stalled on four instruments do not hold up a fifth one's block", async () => {
    const stalled = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const inst = await rm.open(stallingPeer(), { timeoutMs: 20_000 });
        return { inst, pending: inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e) };
      }),
    );
    const ready = await rm.open(
      peer((line, s) => {
        if (line === "BLK?") {
          send(s, header);
          send(s, payload);
          send(s, "\n");
        }
      }),
      { timeoutMs: 20_000 },
    );
    let stalledEnded = false;
    for (const { pending } of stalled) void pending.then(() => (stalledEnded = true));
    const block = await ready.queryBinaryBlock("BLK?", { datatype: "uint8" });
    expect(same(block, payload)).toBe(true);
    expect(stalledEnded).toBe(false); // each reader waits on its own thread, not a shared pool
    for (const { inst, pending } of stalled) {
      await inst.close({ abort: true });
      expect(await pending).toBeInstanceOf(DeviceConnectionError);
    }
    await ready.close();
  });

  test("an into array detached while the worker reads fails that query, and nothing else is written", async () => {
    const { res, peerSocket } = heldPeer();
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const into = new Uint8Array(N);
    const started = new Promise<void>((r) => (workerCalled = r));
    const pending = inst.queryBinaryBlock("BLK?", { datatype: "uint8", into }).catch((e) => e);
    await started;
    const moved = into.buffer.transfer(16); // detached: its memory may be gone
    const others = Array.from({ length: 8 }, () => new Uint8Array(1 << 20).fill(0xee));
    const s = await peerSocket;
    send(s, payload.subarray(300 << 10));
    send(s, "\n");
    const err = await pending;
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(String(err.message)).toContain("detached");
    expect(moved.byteLength).toBe(16);
    expect(others.every((o) => o.every((b) => b === 0xee))).toBe(true);
    expect(await inst.query("TXT?")).toBe("after 0");
    await inst.close();
  });

  test("an into array detached during a read the event loop does itself (64–256 kB) fails that query the same way", async () => {
    const SIZE = 128 << 10; // direct into the array on the JS thread: above 64 kB, below the worker's size
    let held: (s: Socket<Conn>) => void;
    const peerSocket = new Promise<Socket<Conn>>((r) => (held = r));
    const res = peer((line, s) => {
      if (line === "MID?") {
        send(s, `#6${SIZE}`);
        send(s, payload.subarray(0, 20_000));
        held(s);
      } else send(s, `after ${s.data.n}\n`);
    });
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const into = new Uint8Array(SIZE);
    const pending = inst.queryBinaryBlock("MID?", { datatype: "uint8", into }).catch((e) => e);
    const s = await peerSocket;
    into.buffer.transfer(16);
    send(s, payload.subarray(20_000, SIZE));
    send(s, "\n");
    const err = await pending;
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(String(err.message)).toContain("detached or resized during the read");
    expect(await inst.query("TXT?")).toMatch(/^after [01]$/);
    await inst.close();
  });

  test("a blockArray as into is written by the worker directly: no scratch copy, block after block", async () => {
    const big = payload.subarray(0, 2 << 20);
    const res = peer((line, s) => {
      const m = /^BLK (\d+)$/.exec(line);
      if (!m) return;
      const n = Number(m[1]);
      send(s, `#${String(n).length}${n}`);
      send(s, big.subarray(0, n));
      send(s, "\n");
    });
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const into = blockArray(N / 4 / 2); // 2 MB of float32
    expect(into).toBeInstanceOf(Float32Array);
    for (const n of [2 << 20, 1 << 20, 2 << 20]) {
      const block = await inst.queryBinaryBlock(`BLK ${n}`, { into });
      expect(block.buffer).toBe(into.buffer);
      expect(same(block, big.subarray(0, n))).toBe(true);
      into.fill(0);
    }
    expect(kinds()).toBe("readBlock readBlock readBlock");
    expect(lastReader!.scratchBytes).toBe(0); // nothing went through a scratch buffer
    // A view into the middle of one works the same; a plain array goes through the scratch buffer.
    const view = new Uint8Array(into.buffer, 4096, 1 << 20);
    expect(
      same(await inst.queryBinaryBlock(`BLK ${1 << 20}`, { into: view, datatype: "uint8" }), big.subarray(0, 1 << 20)),
    ).toBe(true);
    expect(lastReader!.scratchBytes).toBe(0);
    const plain = new Uint8Array(1 << 20);
    expect(
      same(await inst.queryBinaryBlock(`BLK ${1 << 20}`, { into: plain, datatype: "uint8" }), big.subarray(0, 1 << 20)),
    ).toBe(true);
    expect(lastReader!.scratchBytes).toBe(1 << 20);
    await inst.close();
  });

  test("a blockArray cannot be detached, before or during a read: the read completes into it", async () => {
    const { res, peerSocket } = heldPeer();
    const inst = await rm.open(res, { timeoutMs: 10_000 });
    const into = blockArray(N, "uint8");
    const started = new Promise<void>((r) => (workerCalled = r));
    const pending = inst.queryBinaryBlock("BLK?", { datatype: "uint8", into });
    await started;
    const buffer = into.buffer as ArrayBuffer;
    expect(() => buffer.transfer()).toThrow(TypeError);
    expect(() => buffer.transfer(16)).toThrow(TypeError);
    expect(() => structuredClone(into, { transfer: [buffer] })).toThrow(TypeError);
    const worker = new Worker(URL.createObjectURL(new Blob(["self.onmessage = () => {};"])));
    try {
      expect(() => worker.postMessage(into, [buffer])).toThrow(TypeError);
    } finally {
      worker.terminate();
    }
    expect(structuredClone(into)).toHaveLength(N); // copying it is fine
    const s = await peerSocket;
    send(s, payload.subarray(300 << 10));
    send(s, "\n");
    const block = await pending;
    expect(block.buffer).toBe(into.buffer);
    expect(same(block, payload)).toBe(true);
    expect(lastReader!.scratchBytes).toBe(0);
    expect(await inst.query("TXT?")).toBe("after 0");
    await inst.close();
  });

  test("blockArray: zeroed arrays of each datatype; a bad length or datatype is refused", () => {
    for (const [datatype, Ctor] of [
      ["int8", Int8Array],
      ["uint16", Uint16Array],
      ["int32", Int32Array],
      ["float32", Float32Array],
      ["float64", Float64Array],
    ] as const) {
      const a = blockArray(1000, datatype);
      expect(a).toBeInstanceOf(Ctor);
      expect(a.length).toBe(1000);
      expect(a.every((v) => v === 0)).toBe(true);
    }
    expect(blockArray(0).length).toBe(0);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, MAX_BLOCK_ARRAY_BYTES / 4 + 1])
      expect(() => blockArray(bad)).toThrow(RangeError);
    for (const bad of ["constructor", "__proto__", "float16"])
      expect(() => blockArray(4, bad as "float32")).toThrow(TypeError);
  });

  test("close({ abort: true }) just after the worker finished still fails the query at once, without reconnecting", async () => {
    let connections = 0;
    const res = peer((line, s) => {
      connections = Math.max(connections, s.data.n + 1);
      if (line === "BLK?") {
        send(s, header);
        send(s, payload); // the termination never comes: the query could only end at its deadline
      }
    });
    const inst = await rm.open(res, { timeoutMs: 60_000 });
    let closing: Promise<void> | null = null;
    workerDone = () => {
      workerDone = null;
      closing = inst.close({ abort: true });
    };
    const started = performance.now();
    const err = await inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e);
    await closing;
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(connections).toBe(1);
  });
});
