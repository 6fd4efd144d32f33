// VXI-11 against a hostile core channel (registered with rpcbind like the simulator): replies that
// are well-formed but never end the exchange must still end at the request's deadline, and an answer
// whose rest comes after the deadline must not become part of the next one.
// And the other way round: the simulator's RPC server against a hostile client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ResourceManager } from "../../src/io/index.ts";
import { MAX_RECORD_BYTES, RpcServer, XdrWriter, portmapCall } from "../../drivers/sim/scpi/oncRpc.ts";
import { DeviceTimeoutError } from "../../src/core/errors.ts";

const CORE = 0x0607af,
  VERS = 1;
const END = 4,
  IO_TIMEOUT = 15;
const rm = new ResourceManager();
let server: RpcServer;

/** The instrument behind the core channel; each test puts in its own. */
interface FakeDevice {
  /** A number answers device_write with that VXI-11 error and no bytes taken. */
  write(command: string): void | number;
  read(): XdrWriter;
  clear(): void;
}
let device: FakeDevice;

beforeAll(async () => {
  server = new RpcServer((prog, vers, proc, args) => {
    if (prog !== CORE || vers !== VERS) return null;
    if (proc === 10)
      return new XdrWriter()
        .u32(0)
        .i32(1)
        .u32(0)
        .u32(1 << 20); // create_link
    if (proc === 11) {
      // device_write: link, io_timeout, lock_timeout, flags, data; all taken
      args.i32();
      args.u32();
      args.u32();
      args.u32();
      const data = args.opaque();
      const error = device.write(Buffer.from(data).toString("latin1"));
      return typeof error === "number"
        ? new XdrWriter().u32(error).u32(0)
        : new XdrWriter().u32(0).u32(data.byteLength);
    }
    if (proc === 12) return device.read();
    if (proc === 15) return device.clear(), new XdrWriter().u32(0); // device_clear
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
  let reads = 0;
  // No error, no END, no data: "nothing yet", forever.
  device = { write() {}, read: () => (reads++, new XdrWriter().u32(0).u32(0).opaque(new Uint8Array(0))), clear() {} };
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

test("an answer timed out halfway is given up: device_clear drops its late rest, and later answers stay in step", async () => {
  // Q1 is answered "PART" (no END), then device_read times out (error 15); "IAL1\n" is ready just
  // after. Every other Qn is answered "Rn\n". device_clear empties the output queue.
  const output: string[] = [];
  let late: string | null = null;
  device = {
    write(command) {
      for (const line of command.split("\n").filter(Boolean)) {
        if (line !== "Q1") output.push(`R${line.slice(1)}\n`);
        else {
          output.push("PART");
          late = "IAL1\n";
        }
      }
    },
    read() {
      const chunk = output.shift();
      if (chunk !== undefined)
        return new XdrWriter()
          .u32(0)
          .u32(chunk.endsWith("\n") ? END : 0)
          .opaque(Buffer.from(chunk));
      if (late !== null) output.push(late);
      late = null;
      return new XdrWriter().u32(IO_TIMEOUT).u32(0).opaque(new Uint8Array(0));
    },
    clear() {
      output.length = 0;
      late = null;
    },
  };
  const inst = await rm.open("TCPIP::127.0.0.1::inst0::INSTR", { timeoutMs: 300 });
  const err = await inst.query("Q1").catch((e) => e);
  expect(err).toBeInstanceOf(DeviceTimeoutError);
  expect(err.context).toMatchObject({ code: IO_TIMEOUT, codeName: "VXI11_IO_TIMEOUT" });
  inst.timeoutMs = 20_000; // answered queries: a hang guard
  expect(await inst.query("Q2")).toBe("R2"); // not "PARTIAL1"
  expect(await inst.query("Q3")).toBe("R3");
  await inst.close();
}, 10_000);

for (const netIo of ["event-loop", "native"] as const) {
  test(`${netIo}: a write that timed out (device_write error 15) is followed by device_clear before the next request`, async () => {
    const seen: string[] = [];
    device = {
      write(command) {
        seen.push(`write ${command.trim()}`);
        return command.startsWith("SLOW") ? IO_TIMEOUT : undefined;
      },
      read: () => new XdrWriter().u32(0).u32(END).opaque(Buffer.from("R\n")),
      clear: () => void seen.push("clear"),
    };
    const manager = new ResourceManager({ netIo });
    const inst = await manager.open("TCPIP::127.0.0.1::inst0::INSTR", { timeoutMs: 300 });
    const err = await inst.write("SLOW").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context).toMatchObject({ code: IO_TIMEOUT, codeName: "VXI11_IO_TIMEOUT" });
    expect(await inst.query("Q2")).toBe("R");
    expect(seen).toEqual(["write SLOW", "clear", "write Q2"]);
    await manager.close();
  }, 10_000);
}

test("the simulator's RPC server closes a connection announcing a record beyond its bound instead of buffering it", async () => {
  const closed = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port,
    socket: { data() {}, close: () => closed.resolve(), error: () => closed.resolve() },
  });
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | (MAX_RECORD_BYTES + 4)) >>> 0);
  socket.write(Buffer.concat([mark, Buffer.alloc(4096)]));
  const outcome = await Promise.race([closed.promise.then(() => "closed"), Bun.sleep(20_000).then(() => "still open")]);
  socket.end();
  expect(outcome).toBe("closed");
});
