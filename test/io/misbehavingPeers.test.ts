// Peers that do what the simulators never do — a HiSLIP server that answers late or not at all, an RPC
// server announcing a record beyond the bound, strangers on the VXI-11 interrupt port — and callers whose
// handlers throw: each failure stays with its request, and the instrument goes on.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { HislipSimServer } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { serveVxi11 } from "../../drivers/sim/scpi/vxi11Server.ts";
import { DeviceConnectionError } from "../../src/core/errors.ts";
import { ResourceManager, SampleRing } from "../../src/io/index.ts";
import { encode, Hs, type HsMessage, take, u64 } from "../../src/io/net/hislipMessages.ts";
import { RpcClient, XdrOut } from "../../src/io/net/oncRpcClient.ts";
import { RxBuffer } from "../../src/io/net/rxBuffer.ts";
import { IntrServer } from "../../src/io/net/vxi11Intr.ts";
import { dmm } from "../support/simDevices.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A HiSLIP server that initializes sessions and hands every async-channel request to `onAsync`. */
function fakeHislip(onAsync: (m: HsMessage, reply: (b: Buffer) => void, session: number) => void) {
  let sessions = 0;
  const server = Bun.listen<{ rx: RxBuffer; session: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { rx: new RxBuffer(), session: 0 };
      },
      data(s, chunk) {
        s.data.rx.append(Buffer.from(chunk));
        for (let m = take(s.data.rx); m; m = take(s.data.rx)) {
          if (m.type === Hs.Initialize) {
            s.write(encode(Hs.InitializeResponse, 0, (0x0100 << 16) | ++sessions));
          } else if (m.type === Hs.AsyncInitialize) {
            s.data.session = m.param;
            s.write(encode(Hs.AsyncInitializeResponse, 0, 0));
          } else if (m.type === Hs.AsyncMaximumMessageSize) {
            s.write(encode(Hs.AsyncMaximumMessageSizeResponse, 0, 0, u64(1 << 20)));
          } else onAsync(m, (b) => s.write(b), s.data.session);
        }
      },
    },
  });
  cleanups.push(() => server.stop(true));
  return {
    resource: `TCPIP::127.0.0.1::hislip0,${server.port}::INSTR`,
    get sessions() {
      return sessions;
    },
  };
}

describe("HiSLIP", () => {
  test("close({ abort }) ends a lock request the server never answers at once, not at its deadline", async () => {
    const server = fakeHislip(() => undefined);
    const inst = await new ResourceManager().open(server.resource, { timeoutMs: 20_000 });
    const t0 = performance.now();
    const lock = inst.lock(20_000).catch((e) => e);
    await Bun.sleep(50); // the request is out, waiting on the async channel
    await inst.close({ abort: true });
    expect(await lock).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - t0).toBeLessThan(10_000); // half of the 20 s the wait would have taken
  });

  test("an async request that timed out is not answered by its late reply: the next request has a session of its own", async () => {
    const LOCK_FAIL = 0,
      LOCK_OK = 1;
    let pending = false;
    const server = fakeHislip((m, reply, session) => {
      if (m.type !== Hs.AsyncLock) return;
      if (session === 1 && !pending) {
        pending = true; // the first lock request: no answer yet
        return;
      }
      // On the first session, the late "still locked" for the first request comes ahead of the answer.
      if (session === 1) reply(encode(Hs.AsyncLockResponse, LOCK_FAIL, 0));
      reply(encode(Hs.AsyncLockResponse, LOCK_OK, 0));
    });
    const rm = new ResourceManager();
    cleanups.push(() => rm.close());
    const inst = await rm.open(server.resource, { timeoutMs: 20_000 });
    expect((await inst.lock(100).catch((e) => e)).constructor.name).toBe("DeviceTimeoutError");
    await inst.lock(5_000);
    expect(server.sessions).toBe(2);
  });

  test("a service-request handler that throws is reported; the other handlers and the session go on", async () => {
    const sim = new HislipSimServer(new SimulatedInstrument({ ...dmm, operations: [{ q: "MEAS:START", ms: 20 }] }));
    cleanups.push(() => sim.close());
    await expectSrqDelivered(sim.resource);
  });
});

describe("VXI-11", () => {
  test("a service-request handler that throws is reported; the other handlers and the link go on", async () => {
    const sim = await serveVxi11(
      new SimulatedInstrument({ ...dmm, operations: [{ q: "MEAS:START", ms: 20 }] }),
      "srqthrow0",
    );
    cleanups.push(() => sim.close());
    await expectSrqDelivered(sim.resource);
  });

  test("a reply record beyond the bound closes the link, and the next call reconnects and is answered", async () => {
    let calls = 0;
    const server = Bun.listen<{ got: Buffer }>({
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
            const xid = s.data.got.readUInt32BE(4);
            s.data.got = s.data.got.subarray(4 + len);
            if (calls++ === 0) {
              // "65 MiB follow": more than any reply may be.
              s.write(Buffer.from([0x84, 0x10, 0, 0, 0, 0, 0, 0]));
              continue;
            }
            const body = new XdrOut().u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0).opaque(Buffer.from("ok")).bytes();
            const mark = Buffer.alloc(4);
            mark.writeUInt32BE((0x80000000 | body.byteLength) >>> 0);
            s.write(Buffer.concat([mark, body]));
          }
        },
      },
    });
    cleanups.push(() => server.stop(true));
    const client = new RpcClient("127.0.0.1", server.port, 0x0607af, 1);
    await client.connect(performance.now() + 10_000);
    cleanups.push(() => client.link.close());
    const first = await client.call(1, new XdrOut().u32(0).bytes(), performance.now() + 10_000).catch((e) => e);
    expect(first.message).toContain("record larger than 64 MiB");
    expect(client.link.isOpen).toBe(false);
    await client.connect(performance.now() + 10_000);
    const r = await client.call(1, new XdrOut().u32(1).bytes(), performance.now() + 10_000);
    expect(r.opaque().toString()).toBe("ok");
  });

  test("the interrupt channel hangs up on a malformed call and on anyone but the instrument", async () => {
    const srqs: Buffer[] = [];
    const intr = new IntrServer(
      "127.0.0.1",
      () => "127.0.0.2", // the instrument: not this test's address
      (h) => srqs.push(h),
    );
    cleanups.push(() => intr.close());
    const stranger = await hangUp(intr.port, srqCall(64));
    expect(stranger).toBe("closed");
    const intr2 = new IntrServer(
      "127.0.0.1",
      () => "127.0.0.1",
      (h) => srqs.push(h),
    );
    cleanups.push(() => intr2.close());
    expect(await hangUp(intr2.port, srqCall(64))).toBe("answered"); // the instrument, a well-formed call
    expect(srqs.map((h) => h.readUInt32BE(0))).toEqual([1]);
    const malformed = srqCall(64);
    malformed.writeUInt32BE(1000, 4 + 28); // a credential length past the end of the call
    expect(await hangUp(intr2.port, malformed)).toBe("closed");
    expect(srqs.length).toBe(1);
  });
});

test("an acquisition whose onSamples throws still ends, and gives the instrument back", async () => {
  const sim = new SocketSimServer(new SimulatedInstrument(dmm));
  cleanups.push(() => sim.close());
  const rm = new ResourceManager();
  cleanups.push(() => rm.close());
  const inst = await rm.open(sim.resource, { timeoutMs: 20_000 });
  const errors = spyOn(console, "error").mockImplementation(() => undefined);
  cleanups.push(() => errors.mockRestore());
  const ring = new SampleRing({ capacity: 1024, dtype: "float32" });
  const acq = inst.startAcquisition({
    command: "READ?",
    ring,
    maxExchanges: 3,
    onSamples: () => {
      throw new Error("onSamples bug");
    },
  });
  expect(await acq.ended).toBeNull();
  expect(String(errors.mock.calls[0])).toContain("onSamples of the acquisition");
  expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
});

/** Sets up SRQ on *OPC, with a throwing handler ahead of a waiter: the waiter gets it, the error is reported. */
async function expectSrqDelivered(resource: string): Promise<void> {
  const rm = new ResourceManager();
  cleanups.push(() => rm.close());
  const inst = await rm.open(resource, { timeoutMs: 20_000 });
  const errors = spyOn(console, "error").mockImplementation(() => undefined);
  cleanups.push(() => errors.mockRestore());
  await inst.onServiceRequest(() => {
    throw new Error("handler bug");
  });
  for (const c of ["*CLS", "*ESE 1", "*SRE 32"]) await inst.write(c);
  const srq = inst.waitForServiceRequest({ timeoutMs: 20_000 });
  await inst.write("MEAS:START");
  await inst.write("*OPC");
  expect(await srq).not.toBeUndefined();
  expect(String(errors.mock.calls[0])).toContain("service request handler");
  expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
}

/** A device_intr_srq call record of `len` bytes (handle 1), AUTH_NONE credential and verifier. */
function srqCall(len: number): Buffer {
  const b = Buffer.alloc(4 + len);
  b.writeUInt32BE((0x80000000 | len) >>> 0, 0);
  b.writeUInt32BE(7, 4); // xid
  b.writeUInt32BE(0x0607b1, 4 + 12);
  b.writeUInt32BE(1, 4 + 16);
  b.writeUInt32BE(30, 4 + 20); // device_intr_srq
  b.writeUInt32BE(4, 4 + 40); // the handle's length
  b.writeUInt32BE(1, 4 + 44);
  return b;
}

/** Connects, sends `bytes`, and tells whether the server hung up (or answered). */
async function hangUp(port: number, bytes: Buffer): Promise<"closed" | "answered"> {
  const outcome = Promise.withResolvers<"closed" | "answered">();
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: () => outcome.resolve("answered"),
      close: () => outcome.resolve("closed"),
      error: () => outcome.resolve("closed"),
    },
  });
  s.write(bytes);
  const r = await outcome.promise;
  s.end();
  return r;
}
