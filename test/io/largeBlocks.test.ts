// The rest of a large block is read by a native worker while bun's socket is paused: whole and in order
// with what follows it, and cut short by a deadline, an abort or the peer going away.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { DeviceConnectionError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { ResourceManager } from "../../src/io/index.ts";
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
let server: TCPSocketListener<Conn> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
  workerReads.splice(0);
});

// Every read the worker is given, observed by wrapping the addon's method (the call itself is unchanged).
const workerReads: { offset: number; length: number }[] = [];
let workerCalled: (() => void) | null = null;
const Reader = native.FdReader as { prototype: { read: (...a: unknown[]) => Promise<void> } };
const realRead = Reader.prototype.read;
Reader.prototype.read = function (this: unknown, ...a: unknown[]) {
  workerReads.push({ offset: a[2] as number, length: (a[1] as Uint8Array).byteLength });
  workerCalled?.();
  return realRead.apply(this, a);
};

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
  server = Bun.listen<Conn>({
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
  return `TCPIP0::127.0.0.1::${server.port}::SOCKET`;
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
  test("three 4 MB blocks arrive whole through the native worker, each followed in order by a text answer", async () => {
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
      const [block, text] = await Promise.all([inst.queryBinaryBlock("BLK?", { datatype: "uint8" }), inst.query("TXT?")]);
      expect(block.length).toBe(N);
      expect(Buffer.compare(Buffer.from(block.buffer, block.byteOffset, block.byteLength), payload)).toBe(0);
      expect(text).toBe("after");
    }
    expect(workerReads.length).toBe(3);
    for (const r of workerReads) {
      expect(r.length).toBe(N);
      expect(r.length - r.offset).toBeGreaterThanOrEqual(NATIVE_READ_ABOVE);
    }
    await inst.close();
  });

  test("a block that stops coming times out at its deadline; the next query gets its own answer", async () => {
    const inst = await rm.open(stallingPeer(), { timeoutMs: 300 });
    const err = await inst.queryBinaryBlock("BLK?", { datatype: "uint8" }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(workerReads.length).toBe(1);
    expect(await inst.query("TXT?", { timeoutMs: 5000 })).toBe("after 0");
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
});
