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
