// ONC RPC replies over a real socket as the VXI-11 client reads them: small records framed in the data
// callback, fragmented and huge ones by the general path, and no receive buffer kept large between calls.
import { afterEach, expect, test } from "bun:test";
import { NetIoError } from "../../src/io/ioErrors.ts";
import type { TCPSocketListener } from "bun";
import { RpcClient, XdrOut } from "../../src/io/net/oncRpcClient.ts";
import { RxBuffer } from "../../src/io/net/rxBuffer.ts";

let server: TCPSocketListener<{ got: Buffer }> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

/** A server answering each call with `body` (an opaque) split into fragments of `fragment` bytes. */
function rpcServer(body: (proc: number) => Buffer, fragment = Infinity): number {
  server = Bun.listen<{ got: Buffer }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { got: Buffer.alloc(0) };
      },
      data(s, chunk) {
        s.data.got = Buffer.concat([s.data.got, chunk]);
        while (s.data.got.byteLength >= 4) {
          const len = s.data.got.readUInt32BE(0) & 0x7fffffff;
          if (s.data.got.byteLength < 4 + len) return;
          const call = s.data.got.subarray(4, 4 + len);
          s.data.got = s.data.got.subarray(4 + len);
          const proc = call.readUInt32BE(20);
          if (proc === 6) continue; // never answered
          if (proc === 5) {
            s.write(Buffer.from([0x80, 0, 0, 100, 1, 2, 3])); // a record of 100 bytes, cut off after 3
            continue;
          }
          const reply = new XdrOut()
            .u32(call.readUInt32BE(0)) // xid
            .u32(1) // REPLY
            .u32(0) // MSG_ACCEPTED
            .u32(0) // verifier AUTH_NONE
            .u32(0)
            .u32(0) // SUCCESS
            .opaque(body(call.readUInt32BE(20)))
            .bytes();
          const parts: Buffer[] = [];
          for (let off = 0; off < reply.byteLength; off += fragment) {
            const piece = reply.subarray(off, Math.min(reply.byteLength, off + fragment));
            const last = off + piece.byteLength >= reply.byteLength;
            const mark = Buffer.alloc(4);
            mark.writeUInt32BE(((last ? 0x80000000 : 0) | piece.byteLength) >>> 0);
            parts.push(mark, piece);
          }
          s.write(Buffer.concat(parts));
        }
      },
    },
  });
  return server.port;
}

const deadline = () => performance.now() + 5000;

test("small, fragmented and 3 MB replies are read whole, in step with their calls", async () => {
  const big = Buffer.alloc(3 << 20, 7);
  const port = rpcServer((proc) =>
    proc === 1 ? Buffer.from("small") : proc === 2 ? Buffer.from("x".repeat(100)) : big,
  );
  const client = new RpcClient("127.0.0.1", port, 0x0607af, 1);
  await client.connect(deadline());
  for (let i = 0; i < 3; i++) {
    expect((await client.call(1, new XdrOut().u32(i).bytes(), deadline())).opaque().toString()).toBe("small");
    const huge = (await client.call(3, new XdrOut().bytes(), deadline())).opaque();
    expect(huge.byteLength).toBe(3 << 20);
    expect(huge[0]).toBe(7);
    expect(huge[(3 << 20) - 1]).toBe(7);
    // The receive buffer does not keep the huge reply's size between calls.
    expect(client.link.rx.buf.byteLength).toBeLessThanOrEqual(1 << 20);
  }
  client.link.close();
  server!.stop(true);
  const fragmented = new RpcClient(
    "127.0.0.1",
    rpcServer(() => Buffer.from("y".repeat(100)), 16),
    0x0607af,
    1,
  );
  await fragmented.connect(deadline());
  expect((await fragmented.call(2, new XdrOut().bytes(), deadline())).opaque().toString()).toBe("y".repeat(100));
  expect((await fragmented.call(2, new XdrOut().bytes(), deadline())).opaque().toString()).toBe("y".repeat(100));
  fragmented.link.close();
});

test("a receive buffer grown for a huge answer is let go once it empties; an ordinary one is kept", () => {
  const rx = new RxBuffer();
  rx.append(Buffer.alloc(100));
  rx.append(Buffer.alloc(3 << 20));
  expect(rx.buf.byteLength).toBeGreaterThan(3 << 20);
  rx.pos = rx.len;
  rx.reset();
  expect(rx.buf.byteLength).toBe(0);
  rx.append(Buffer.alloc(100));
  rx.append(Buffer.alloc(100));
  const kept = rx.buf;
  rx.reset();
  expect(rx.buf).toBe(kept);
});

test("a call nobody answers times out with the stream kept; a reply cut off mid-record closes it", async () => {
  const client = new RpcClient(
    "127.0.0.1",
    rpcServer(() => Buffer.from("ok")),
    0x0607af,
    1,
  );
  await client.connect(deadline());
  const silent = await client.call(6, new XdrOut().bytes(), performance.now() + 100).catch((e) => e);
  expect(silent).toBeInstanceOf(NetIoError);
  expect(silent.kind).toBe("timeout");
  expect(client.link.isOpen).toBe(true);
  expect((await client.call(1, new XdrOut().bytes(), deadline())).opaque().toString()).toBe("ok");
  const cut = await client.call(5, new XdrOut().bytes(), performance.now() + 100).catch((e) => e);
  expect(cut).toBeInstanceOf(NetIoError);
  expect(cut.kind).toBe("timeout");
  expect(client.link.isOpen).toBe(false); // its rest would have been read as the next reply's start
});
