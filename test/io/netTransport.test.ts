// SOCKET and VXI-11 on the event loop: what the move off native threads must not change (closing under
// a pending read, the acquisition hand-over) and what it is for (no thread per instrument).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { ResourceManager, SampleRing } from "../../src/io/index.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConnectionError, DeviceNotConnectedError } from "../../src/core/errors.ts";
import { dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let socketSim: SocketSimServer;
let vxiSim: Vxi11Sim;
const threads = () => readdirSync("/proc/self/task").length;

/** A listener that accepts one connection, then fills its accept queue (backlog 0) so later SYNs are dropped. */
const BLACKHOLE = `
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
filler = socket.create_connection(("127.0.0.1", s.getsockname()[1]))
print("full", flush=True)
time.sleep(120)
`;

beforeAll(async () => {
  socketSim = new SocketSimServer(new SimulatedInstrument(dmm));
  vxiSim = await serveVxi11(new SimulatedInstrument(dmm), "nettr0");
});
afterAll(async () => {
  await rm.close();
  socketSim.close();
  await vxiSim.close();
});

describe("event-loop transports", () => {
  test("SOCKET and VXI-11 instruments take no thread each (the native sessions did)", async () => {
    const before = threads();
    const insts = await Promise.all([
      ...Array.from({ length: 4 }, () => rm.open(socketSim.resource)),
      ...Array.from({ length: 4 }, () => rm.open(vxiSim.resource)),
    ]);
    for (const answer of await Promise.all(insts.map((i) => i.query("*IDN?")))) expect(answer).toStartWith("LabDaemon");
    // bun may start a helper thread of its own; eight sessions on threads would be eight more.
    expect(threads()).toBeLessThanOrEqual(before + 2);
    await Promise.all(insts.map((i) => i.close()));
    const native = new ResourceManager({ netIo: "native" });
    const n = await native.open(socketSim.resource);
    expect(await n.query("*IDN?")).toStartWith("LabDaemon");
    await native.close();
  });

  for (const kind of ["SOCKET", "VXI-11"] as const)
    for (const netIo of ["event-loop", "native"] as const) {
      test(`${kind}, ${netIo}: close({ abort }) fails a read waiting for an instrument that never answers, and the requests queued behind it, at once`, async () => {
        const resource = kind === "SOCKET" ? socketSim.resource : vxiSim.resource;
        const manager = new ResourceManager({ netIo });
        const inst = await manager.open(resource, { timeoutMs: 10_000 });
        const t0 = performance.now();
        const pending = inst.query("HANG?").catch((e) => e);
        const queued = [inst.query("HANG?").catch((e) => e), inst.query("*IDN?").catch((e) => e)];
        // Closing while the read waits (not before it was sent): the next turn of the loop is after the write.
        await Bun.sleep(0);
        await inst.close({ abort: true });
        const err = await pending;
        expect(err).toBeInstanceOf(DeviceConnectionError);
        expect(err.context.resource).toBe(resource);
        for (const e of await Promise.all(queued)) {
          expect(e).toBeInstanceOf(DeviceConnectionError);
          expect(e.message).toContain("closed before this request's turn");
        }
        // Well before the 10 s the first read would have waited (and the queued HANG? 10 s more).
        expect(performance.now() - t0).toBeLessThan(5_000);
        await expect(inst.query("*IDN?")).rejects.toBeInstanceOf(DeviceNotConnectedError);
        await manager.close();
      });
    }

  test("event loop: close({ abort }) while the request in progress is between steps: it neither reconnects nor sends", async () => {
    let connections = 0;
    const seen: string[] = [];
    const peer = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: () => void connections++,
        data(s, chunk) {
          for (const line of chunk.toString().split("\n").filter(Boolean)) {
            seen.push(line);
            if (line.endsWith("?")) s.write("1\n");
          }
        },
      },
    });
    const inst = await rm.open(`TCPIP::127.0.0.1::${peer.port}::SOCKET`, { timeoutMs: 20_000 });
    await inst.write("OUTP OFF"); // a write may be answered unasked: the query first drops what came in
    const query = inst.query("OUTP ON;*OPC?").catch((e) => e);
    await Bun.sleep(0); // the query is waiting for stray input to land, its command not yet sent
    await inst.close({ abort: true });
    const err = await query;
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.message).toContain("closed while this request was in progress");
    expect(connections).toBe(1);
    expect(seen).toEqual(["OUTP OFF"]);
    peer.stop(true);
  });

  test("event loop: close({ abort }) ends a reconnect that hangs (its SYN dropped) at once, not at the request's deadline", async () => {
    // A listener whose accept queue is full: a new connection's SYN is dropped, so connecting hangs.
    const py = Bun.spawn(["python3", "-c", BLACKHOLE], { stdout: "pipe", stderr: "inherit" });
    const lines = py.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await lines.read()).value!.trim());
    const manager = new ResourceManager();
    const inst = await manager.open(`TCPIP::127.0.0.1::${port}::SOCKET`, { timeoutMs: 300 });
    await lines.read(); // "full": the listener's queue holds a connection nobody accepts
    await inst.query("A?").catch(() => undefined); // never answered: the next request reconnects
    inst.timeoutMs = 60_000;
    const t0 = performance.now();
    const query = inst.query("B?").catch((e) => e);
    await Bun.sleep(100); // connecting
    await inst.close({ abort: true });
    const err = await query;
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - t0).toBeLessThan(30_000); // half the 60 s the connect would have waited
    py.kill();
    await py.exited;
    await manager.close();
  });

  test("close() without abort lets the request in progress finish", async () => {
    const inst = await rm.open(vxiSim.resource);
    const pending = inst.query("*IDN?");
    await inst.close();
    expect(await pending).toStartWith("LabDaemon");
  });

  test("a native acquisition takes the instrument's connection over and gives it back", async () => {
    let opened = 0;
    const server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          opened++;
        },
        data(socket, chunk) {
          for (const line of chunk.toString().split("\n").filter(Boolean))
            socket.write(line === "READ?" ? "1,2\n" : "OK\n");
        },
      },
    });
    const inst = await rm.open(`TCPIP::127.0.0.1::${server.port}::SOCKET`, { timeoutMs: 2000 });
    expect(await inst.query("A?")).toBe("OK");
    const ring = new SampleRing({ capacity: 64, dtype: "float64" });
    const acq = inst.startAcquisition({ command: "READ?", ring, maxExchanges: 3, intervalMs: 1 });
    const during = inst.query("B?"); // carried by the acquisition's session, between its exchanges
    expect(await acq.ended).toBeNull();
    expect(await during).toBe("OK");
    expect([...ring.drain()]).toEqual([1, 2, 1, 2, 1, 2]);
    expect(await inst.query("C?")).toBe("OK"); // back on the event loop: a new connection
    expect(opened).toBe(3);
    await inst.close();
    server.stop(true);
  });
});
