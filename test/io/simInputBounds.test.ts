// The simulators against clients that send without end: a HiSLIP header announcing more than the server
// accepts, data that never reaches DataEnd, VXI-11 writes that never end a message, a serial line with no
// terminator. Each keeps its memory bounded, and the simulator goes on serving other clients.
import { afterEach, describe, expect, test } from "bun:test";
import { HislipSimServer, MAX_INBOUND_BYTES } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { MAX_PENDING_BYTES } from "../../drivers/sim/scpi/messages.ts";
import { MAX_QUEUED_BYTES, RpcServer, XdrWriter } from "../../drivers/sim/scpi/oncRpc.ts";
import { servePty } from "../../drivers/sim/scpi/serialPty.ts";
import { MAX_MESSAGE_BYTES, serveVxi11 } from "../../drivers/sim/scpi/vxi11Server.ts";
import { ResourceManager } from "../../src/io/index.ts";
import { encode, Hs, type HsMessage, take } from "../../src/io/net/hislipMessages.ts";
import { RpcClient, XdrOut, portmapGetPort } from "../../src/io/net/oncRpcClient.ts";
import { RxBuffer } from "../../src/io/net/rxBuffer.ts";
import { until } from "../support/fixtures.ts";
import { dmm } from "../support/simDevices.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A HiSLIP sync channel that has sent Initialize: the messages it received, and its closing. */
async function hislipClient(port: number) {
  const received: HsMessage[] = [];
  const rx = new RxBuffer();
  const closed = Promise.withResolvers<void>();
  const initialized = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        rx.append(Buffer.from(chunk));
        for (let m = take(rx); m; m = take(rx)) {
          received.push(m);
          if (m.type === Hs.InitializeResponse) initialized.resolve();
        }
      },
      close: () => closed.resolve(),
      error: () => closed.resolve(),
    },
  });
  cleanups.push(() => socket.end());
  socket.write(encode(Hs.Initialize, 0, 0x0100_0000, Buffer.from("hislip0")));
  await initialized.promise;
  return { socket, received, closed: closed.promise };
}

/** Whether `closed` settles before a hang guard (long enough for a loaded machine). */
const outcome = (closed: Promise<void>) =>
  Promise.race([closed.then(() => "closed"), Bun.sleep(20_000).then(() => "still open")]);

/** Writes `message` again and again, as the kernel takes it, until `total` bytes are out. */
function pump(socket: { write(b: Uint8Array): number }, message: Uint8Array, total: number): void {
  let sent = 0;
  let rest = message.subarray(0, 0);
  const timer = setInterval(() => {
    while (sent < total) {
      if (rest.byteLength === 0) rest = message;
      const n = Math.max(0, socket.write(rest));
      sent += n;
      rest = rest.subarray(n);
      if (rest.byteLength > 0) return; // the kernel's buffer is full: on the next tick
    }
  }, 1);
  cleanups.push(() => clearInterval(timer));
}

/** The simulator still answers a well-behaved client. */
async function stillServes(resource: string): Promise<void> {
  const rm = new ResourceManager();
  cleanups.push(() => rm.close());
  const inst = await rm.open(resource, { timeoutMs: 20_000 });
  expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
}

describe("HiSLIP simulator", () => {
  test("a header announcing more than the maximum message size gets FatalError and the connection is closed", async () => {
    const sim = new HislipSimServer(new SimulatedInstrument(dmm), "hislip0", { maxMessageSize: 4096 });
    cleanups.push(() => sim.close());
    const client = await hislipClient(sim.port);
    // The header announces 4097 bytes; the server must not wait for (and buffer) them.
    const header = encode(Hs.DataEnd, 0, 0xffffff00, Buffer.alloc(4097)).subarray(0, 16 + 10);
    client.socket.write(header);
    expect(await outcome(client.closed)).toBe("closed");
    const fatal = client.received.find((m) => m.type === Hs.FatalError);
    expect(fatal?.control).toBe(1);
    expect(fatal?.payload.toString()).toBe("message too large: 4097 bytes of payload, at most 4096");
    await stillServes(sim.resource);
  });

  test("Data messages that never reach DataEnd are refused beyond the bound, not buffered", async () => {
    const sim = new HislipSimServer(new SimulatedInstrument(dmm));
    cleanups.push(() => sim.close());
    const client = await hislipClient(sim.port);
    const data = encode(Hs.Data, 0, 0xffffff00, Buffer.alloc(1 << 20, 0x20)); // within the 1 MiB maximum
    pump(client.socket, data, 2 * MAX_INBOUND_BYTES); // far more than the bound
    expect(await outcome(client.closed)).toBe("closed");
    const fatal = client.received.find((m) => m.type === Hs.FatalError);
    expect(fatal?.payload.toString()).toBe(
      `message too large: more than ${MAX_INBOUND_BYTES} bytes before its DataEnd`,
    );
    await stillServes(sim.resource);
  });
});

describe("VXI-11 simulator", () => {
  test("device_write calls that never end their message close the connection beyond the bound", async () => {
    const sim = await serveVxi11(new SimulatedInstrument(dmm), "bounds0");
    cleanups.push(() => sim.close());
    const deadline = () => performance.now() + 20_000;
    const core = await portmapGetPort("127.0.0.1", 0x0607af, 1, deadline());
    const client = new RpcClient("127.0.0.1", core, 0x0607af, 1);
    await client.connect(deadline());
    cleanups.push(() => client.link.close());
    const lid = await createLink(client, "bounds0");
    // 1 MiB at a time, no terminator and no END: one message that never ends.
    const chunk = Buffer.alloc(1 << 20, 0x41);
    let taken = 0;
    let refused: unknown = null;
    while (refused === null && taken <= 2 * MAX_MESSAGE_BYTES) {
      const args = new XdrOut().i32(lid).u32(1000).u32(0).u32(0).opaque(chunk).bytes();
      await client.call(11, args, deadline()).then(
        () => void (taken += chunk.byteLength),
        (e) => void (refused = e),
      );
    }
    expect(refused).not.toBeNull();
    expect(client.link.isOpen).toBe(false);
    expect(taken).toBe(MAX_MESSAGE_BYTES);
    // Another connection to the same core port (not looked up again: rpcbind is shared with other runs).
    const other = new RpcClient("127.0.0.1", core, 0x0607af, 1);
    await other.connect(deadline());
    cleanups.push(() => other.link.close());
    const otherLid = await createLink(other, "bounds0");
    const idn = Buffer.from("*IDN?\n");
    const END = 8;
    expect(
      (
        await other.call(11, new XdrOut().i32(otherLid).u32(1000).u32(0).u32(END).opaque(idn).bytes(), deadline())
      ).u32(),
    ).toBe(0);
    const read = await other.call(
      12,
      new XdrOut().i32(otherLid).u32(1024).u32(1000).u32(0).u32(0).u32(0).bytes(),
      deadline(),
    );
    expect(read.u32()).toBe(0);
    read.u32(); // reason
    expect(read.opaque().toString()).toBe("LabDaemon,SimDMM,0001,1.0\n");
  });

  test("calls sent behind one that waits are read only up to the bound, and each is answered once it returns", async () => {
    const release = Promise.withResolvers<void>();
    const server = new RpcServer(async (_prog, _vers, proc) => {
      if (proc === 1) await release.promise; // a device_read waiting out its io_timeout
      return new XdrWriter().u32(proc);
    });
    cleanups.push(() => server.close());
    let replies = 0;
    let got = Buffer.alloc(0);
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data(_s, chunk) {
          got = Buffer.concat([got, chunk]);
          while (got.byteLength >= 4 && got.byteLength >= 4 + (got.readUInt32BE(0) & 0x7fffffff)) {
            got = got.subarray(4 + (got.readUInt32BE(0) & 0x7fffffff));
            replies++;
          }
        },
      },
    });
    cleanups.push(() => socket.end());
    const behind = (3 * MAX_QUEUED_BYTES) >> 20;
    const calls = [rpcCall(1, 0), ...Array.from({ length: behind }, () => rpcCall(2, 1 << 20))];
    const all = Buffer.concat(calls);
    pump(socket, all, all.byteLength);
    await until(() => server.queuedBytes >= MAX_QUEUED_BYTES, 20_000, "the server to read up to its bound");
    // Nothing announces that the server has stopped reading: give it time to read on, were it to.
    await Bun.sleep(300);
    expect(server.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES + calls[1]!.byteLength);
    release.resolve();
    await until(() => replies === calls.length, 20_000, "every call to be answered");
  });
});

describe("serial pty simulator", () => {
  test("a line beyond the bound without its terminator is dropped up to the terminator; the next line is answered", async () => {
    const pty = await servePty(new SimulatedInstrument(dmm));
    cleanups.push(() => pty.close());
    const rm = new ResourceManager();
    cleanups.push(() => rm.close());
    const inst = await rm.open(pty.resource, { timeoutMs: 20_000 });
    // Kept whole, this line would be one unknown command answered "ERROR" ahead of the *IDN? answer.
    await inst.writeBytes(Buffer.concat([Buffer.alloc(2 * MAX_PENDING_BYTES, 0x41), Buffer.from("\n")]));
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect(await inst.query("SYST:ERR?")).toBe('0,"No error"');
  });
});

/** create_link to `device`; its link id. */
async function createLink(client: RpcClient, device: string): Promise<number> {
  const args = new XdrOut().i32(0).u32(0).u32(0).opaque(Buffer.from(device)).bytes();
  const r = await client.call(10, args, performance.now() + 20_000);
  expect(r.u32()).toBe(0);
  return r.i32();
}

/** One ONC RPC call record (AUTH_NONE) to procedure `proc` with `argBytes` of zeros as its arguments. */
function rpcCall(proc: number, argBytes: number): Buffer {
  const head = new XdrWriter().u32(proc).u32(0).u32(2).u32(0x0607af).u32(1).u32(proc).u32(0).u32(0).u32(0).u32(0);
  const body = Buffer.concat([...head.parts(), Buffer.alloc(argBytes)]);
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | body.byteLength) >>> 0);
  return Buffer.concat([mark, body]);
}
