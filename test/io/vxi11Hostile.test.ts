// VXI-11 against a hostile core channel (registered with rpcbind like the simulator): replies that
// are well-formed but never end the exchange must still end at the request's deadline.
// And the other way round: the simulator's RPC server against a hostile client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ResourceManager } from "../../src/io/index.ts";
import { MAX_RECORD_BYTES, RpcServer, XdrWriter, portmapCall } from "../../drivers/sim/scpi/oncRpc.ts";
import { DeviceTimeoutError } from "../../src/core/errors.ts";

const CORE = 0x0607af, VERS = 1;
const rm = new ResourceManager();
let server: RpcServer;
let reads = 0;

beforeAll(async () => {
  server = new RpcServer((prog, vers, proc) => {
    if (prog !== CORE || vers !== VERS) return null;
    if (proc === 10) return new XdrWriter().u32(0).i32(1).u32(0).u32(1 << 20); // create_link
    if (proc === 11) return new XdrWriter().u32(0).u32(1 << 20); // device_write: all taken
    // device_read: no error, no END, no data — "nothing yet", forever.
    if (proc === 12) return (reads++, new XdrWriter().u32(0).u32(0).opaque(new Uint8Array(0)));
    return new XdrWriter().u32(0);
  });
  await portmapCall(2, CORE, VERS, 0).catch(() => false);
  expect(await portmapCall(1, CORE, VERS, server.port)).toBe(true);
});
afterAll(async () => {
  await rm.close();
  server.close();
  await portmapCall(2, CORE, VERS, 0).catch(() => false);
});

test("a device that answers every device_read with no data and no END times out at the request's deadline", async () => {
  const inst = await rm.open("TCPIP::127.0.0.1::inst0::INSTR", { timeoutMs: 300 });
  const t0 = performance.now();
  const err = await inst.query("*IDN?").catch((e) => e);
  expect(err).toBeInstanceOf(DeviceTimeoutError);
  expect(err.context.resource).toBe("TCPIP::127.0.0.1::inst0::INSTR");
  // Not the RPC layer's extra second (meant for the device's own timeout reply): the request's deadline.
  expect(performance.now() - t0).toBeLessThan(900);
  expect(reads).toBeGreaterThan(1);
  await inst.close();
}, 10_000);

test("the simulator's RPC server closes a connection announcing a record beyond its bound instead of buffering it", async () => {
  const closed = Promise.withResolvers<void>();
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {}, close: () => closed.resolve(), error: () => closed.resolve() } });
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | (MAX_RECORD_BYTES + 4)) >>> 0);
  socket.write(Buffer.concat([mark, Buffer.alloc(4096)]));
  const outcome = await Promise.race([closed.promise.then(() => "closed"), Bun.sleep(3000).then(() => "still open")]);
  socket.end();
  expect(outcome).toBe("closed");
});
