// The simulators against clients that send without end: a HiSLIP header announcing more than the server
// accepts, data that never reaches DataEnd, VXI-11 writes that never end a message, a serial line with no
// terminator. Each keeps its memory bounded, and the simulator goes on serving other clients.
import { afterEach, describe, expect, test } from "bun:test";
import { HislipSimServer, MAX_INBOUND_BYTES } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { ResourceManager } from "../../src/io/index.ts";
import { encode, Hs, type HsMessage, take } from "../../src/io/net/hislipMessages.ts";
import { RxBuffer } from "../../src/io/net/rxBuffer.ts";
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
