// Native sessions (netIo "native") under close({ abort }) while a request is reconnecting, and when an idle
// VXI-11 session is garbage-collected: nothing may connect, send or block the JS thread once the owner
// has let the instrument go.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ResourceManager } from "../../src/io/index.ts";
import { native } from "../../src/io/native.ts";
import { serveVxi11, type Vxi11Sim } from "../../drivers/sim/scpi/vxi11Server.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import { DeviceConnectionError, DeviceTimeoutError } from "../../src/core/errors.ts";
import { dmm } from "../support/simDevices.ts";

// An instrument whose listener drops connection attempts: it takes the first connection and never answers
// it, then fills its own accept queue (backlog 0), so the SYN of a reconnect is dropped and the client sits
// in connect(). Lines on stdout: the port, then "reconnecting" once the client closed the first connection
// (the clear after a timed-out read). Told "accept" on stdin, it empties the queue and answers the next
// connection's first line with "ans".
const PEER = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
first, _ = s.accept()
first.recv(100)
filler = socket.create_connection(s.getsockname())
while first.recv(100):
    pass
print("reconnecting", flush=True)
if sys.stdin.readline().strip() == "accept":
    s.accept()
    c, _ = s.accept()
    if c.recv(100):
        c.sendall(b"ans\\n")
    c.recv(100)
`;

function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return async () => {
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the peer ended (output so far: '${buf}')`);
      buf += dec.decode(value, { stream: true });
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return line;
  };
}

// A native session whose second query is in connect() to `PEER` (its SYN dropped), with an 8 s timeout.
async function reconnecting() {
  const peer = Bun.spawn(["python3", "-c", PEER], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const next = lines(peer.stdout);
  const resource = `TCPIP::127.0.0.1::${await next()}::SOCKET`;
  const manager = new ResourceManager({ netIo: "native" });
  const inst = await manager.open(resource, { timeoutMs: 300 });
  expect(await inst.query("A?").catch((e) => e)).toBeInstanceOf(DeviceTimeoutError);
  inst.timeoutMs = 8_000;
  const t0 = performance.now();
  const query = inst.query("B?").catch((e) => e);
  expect(await next()).toBe("reconnecting");
  return { peer, manager, inst, query, t0 };
}

describe("native close({ abort }) during a reconnect", () => {
  test("the request that was reconnecting fails with DeviceConnectionError and its command is never answered, even when the connection is accepted after", async () => {
    const { peer, manager, inst, query } = await reconnecting();
    const closed = inst.close({ abort: true });
    // Let the reconnect through: before, it connected and sent "B?", and the query was answered.
    peer.stdin.write("accept\n");
    await peer.stdin.flush();
    await closed;
    const err = await query;
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context.resource).toBe(inst.resource);
    await manager.close();
    peer.kill();
  }, 20_000);

  test("close resolves, and the reconnecting request fails with DeviceConnectionError, long before its 8 s timeout", async () => {
    const { peer, manager, inst, query, t0 } = await reconnecting();
    await inst.close({ abort: true });
    // Before, close waited out the whole connect (the query's 8 s) and the query failed with a timeout.
    expect(performance.now() - t0).toBeLessThan(4_000);
    expect(await query).toBeInstanceOf(DeviceConnectionError);
    await manager.close();
    peer.kill();
  }, 20_000);
});

describe("native VXI-11 session finalized while idle", () => {
  let sim: Vxi11Sim;
  beforeAll(async () => {
    sim = await serveVxi11(new SimulatedInstrument(dmm), "fin0");
  });
  afterAll(async () => {
    await sim.close();
  });

  test("garbage collection does not hold the JS thread for a destroy_link round trip", async () => {
    // Session threads are unnamed, so they carry the process's name; bun's own threads have names of their own.
    const processName = readFileSync("/proc/self/comm", "utf8");
    const threads = () =>
      readdirSync("/proc/self/task").filter((t) => readFileSync(`/proc/self/task/${t}/comm`, "utf8") === processName)
        .length;
    // The simulator runs on this thread: a destroy_link sent from the finalizer could only time out (500 ms).
    // Several sessions, each made in a frame of its own: the collector scans the stack conservatively, and a
    // stale word there can keep one object alive for a while; it is not the finalizer's work being measured.
    for (let i = 0; i < 4; i++)
      await (async () => {
        const s = new native.NativeSession(sim.resource, {});
        await s.open(2000);
        expect(new TextDecoder().decode(await s.query("*IDN?\n", "\n", 1000, 2000))).toStartWith("LabDaemon");
      })();
    const withSessions = threads();
    let longest = 0;
    const deadline = performance.now() + 10_000;
    while (threads() >= withSessions && performance.now() < deadline) {
      const t0 = performance.now();
      Bun.gc(true);
      await new Promise((resolve) => setImmediate(resolve));
      longest = Math.max(longest, performance.now() - t0);
      new Array(1000).fill(0).map((_, j) => ({ j })); // garbage, and stack words overwritten
    }
    expect(threads()).toBeLessThan(withSessions); // a session (its thread) was finalized
    expect(longest).toBeLessThan(250);
  });
});
