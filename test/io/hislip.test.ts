// HiSLIP (IVI-6.1) client against the simulator's HiSLIP server on loopback; Wireshark's HiSLIP
// dissector (tshark) decodes a capture of the conversation as the independent check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager } from "../../src/io/index.ts";
import { HislipSimServer } from "../../drivers/sim/scpi/hislipServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import {
  DeviceConfigurationError,
  DeviceConnectionError,
  DeviceNotConnectedError,
  DeviceTimeoutError,
} from "../../src/core/errors.ts";
import { SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { encode, Hs } from "../../src/io/net/hislipMessages.ts";
import { expectOrderedQueries } from "../support/ordering.ts";
import { dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let sim: HislipSimServer;

beforeAll(() => {
  sim = new HislipSimServer(new SimulatedInstrument({ ...dmm, operations: [{ q: "MEAS:START", ms: 100 }] }));
});
afterAll(async () => {
  await rm.close();
  sim.close();
});

/** Everything a test does over HiSLIP, so the capture below holds every message type it checks. */
async function conversation(resource: string, points = 300_000, bigWrite = 1_500_000): Promise<void> {
  const a = await rm.open(resource, { timeoutMs: 2000 });
  const b = await rm.open(resource, { timeoutMs: 300 });
  expect(await a.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
  await a.write(`POIN ${points}`); // by default 1.2 MB: more than the server's 1 MiB maximum message size
  const big = await a.queryBinaryBlock("CURV?");
  expect(big.length).toBe(points);
  expect(big[points - 1]).toBe(points - 1);
  await a.write("POIN 16");
  // A message larger than the server's maximum goes as Data … DataEnd (blanks: an empty command).
  await a.writeBytes(Buffer.alloc(bigWrite, 0x20));
  expect(await a.query("*IDN?")).toStartWith("LabDaemon");
  await a.lock();
  await expect(b.lock()).rejects.toBeInstanceOf(DeviceTimeoutError); // AsyncLock with a timeout, across clients
  await a.unlock();
  await b.lock();
  await b.unlock();
  await a.lock(1000, "shared-key"); // shared locks: the same key shares, no key is kept out
  await b.lock(1000, "shared-key");
  await a.unlock();
  await a
    .lock(1000, "other-key")
    .then(
      () => "granted",
      (e) => e,
    )
    .then((r) => expect(r).toBeInstanceOf(DeviceTimeoutError));
  await b.unlock();
  await a.remoteLocal("llo");
  await a.write("*ESE 1"); // operation complete → ESB
  await a.write("*SRE 32"); // ESB → service request
  const srq = a.waitForServiceRequest({ timeoutMs: 10_000 });
  await a.write("MEAS:START");
  await a.write("*OPC");
  expect(await srq).toBe(0x60); // AsyncServiceRequest carries the status byte: RQS and ESB
  expect(await a.query("*ESR?")).toBe("1");
  await a.clear(); // AsyncDeviceClear, DeviceClearComplete, DeviceClearAcknowledge
  expect(await a.query("VOLT?")).toMatch(/^\d+\.\d{3}$/);
  await a.close();
  await b.close();
}

describe("HiSLIP", () => {
  test("queries, a block larger than the maximum message size, locks across two clients, SRQ, device clear", async () => {
    await conversation(sim.resource);
  });

  test("a silent instrument times out; the next request clears the device and is answered in step", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 200 });
    const err = await inst.query("HANG?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe(sim.resource);
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("close({ abort }) fails a read waiting for an answer at once", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 10_000 });
    const t0 = performance.now();
    const pending = inst.query("HANG?").catch((e) => e);
    await Bun.sleep(0);
    await inst.close({ abort: true });
    expect(await pending).toBeInstanceOf(DeviceConnectionError);
    expect(performance.now() - t0).toBeLessThan(5_000); // not the 10 s the read would have waited
    await expect(inst.query("*IDN?")).rejects.toBeInstanceOf(DeviceNotConnectedError);
  });

  test("the simulator grants no lock to a session that went away while it waited: the next client gets it", async () => {
    const manager = new ResourceManager();
    const a = await manager.open(sim.resource, { timeoutMs: 20_000 });
    const b = await manager.open(sim.resource, { timeoutMs: 20_000 });
    await a.lock(1000);
    const waiting = b.lock(10_000).catch((e) => e);
    // The simulator shows no queue of waiters: give the request time to reach it (it waits 10 s there).
    await Bun.sleep(200);
    await b.close({ abort: true }); // gone while waiting for the lock
    await waiting;
    await a.unlock();
    const c = await manager.open(sim.resource, { timeoutMs: 20_000 });
    await c.lock(2000); // refused for good before: the dead session held it
    await c.unlock();
    await manager.close();
  });

  test("1,000 queries from concurrent callers are answered in order", async () => {
    const inst = await rm.open(sim.resource);
    await expectOrderedQueries(inst);
    await inst.close();
  });

  test("a `labdaemon sim` definition serves HiSLIP", async () => {
    const { serveSimulators } = await import("../../drivers/sim/scpi/serve.ts");
    const lab = await serveSimulators({ devices: { dmm }, resources: [{ device: "dmm", hislip: { port: 0 } }] });
    try {
      expect(lab.resources[0]!.kind).toBe("hislip");
      const inst = await rm.open(lab.resources[0]!.resource);
      expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
      await inst.close();
    } finally {
      await lab.close();
    }
  });

  test("remote/local control reaches the instrument; locks and remote/local are refused where HiSLIP is not", async () => {
    const inst = await rm.open(sim.resource);
    await inst.remoteLocal("gtl");
    expect(sim.remoteLocal).toBe(2);
    await expect(inst.remoteLocal("sideways" as "gtl")).rejects.toBeInstanceOf(RangeError);
    await inst.close();
    const socket = new SocketSimServer(new SimulatedInstrument(dmm));
    const raw = await rm.open(socket.resource);
    await expect(raw.remoteLocal("gtl")).rejects.toBeInstanceOf(DeviceConfigurationError);
    await expect(raw.lock(1000, "k")).rejects.toBeInstanceOf(DeviceConfigurationError);
    await raw.close();
    socket.close();
  });

  test("a server in overlapped mode: answers matched by message ID, device clear, SRQ", async () => {
    const overlapped = new HislipSimServer(new SimulatedInstrument(dmm), "hislip0", { overlapped: true });
    try {
      const inst = await rm.open(overlapped.resource, { timeoutMs: 300 });
      await expectOrderedQueries(inst, 2, 50);
      await expect(inst.query("HANG?")).rejects.toBeInstanceOf(DeviceTimeoutError);
      expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
      await inst.write("*ESE 1");
      await inst.write("*SRE 32");
      const srq = inst.waitForServiceRequest({ timeoutMs: 10_000 });
      await inst.write("*OPC");
      expect(await srq).toBe(0x60);
      await inst.close();
    } finally {
      overlapped.close();
    }
  });

  test("native acquisition is refused on HiSLIP (the addon has no HiSLIP transport); the instrument goes on", async () => {
    const { SampleRing } = await import("../../src/io/index.ts");
    const inst = await rm.open(sim.resource);
    const ring = new SampleRing({ capacity: 64, dtype: "float64" });
    expect(() => inst.startAcquisition({ command: "READ?", ring })).toThrow(DeviceConfigurationError);
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("session ids wrap past the ones still open: a new session never takes a live session's id; none left is FatalError 4", async () => {
    // Three ids instead of 65,535: the same wrap, without as many connections.
    const server = new HislipSimServer(new SimulatedInstrument(dmm), "hislip0", { lastSessionId: 3 });
    const init = encode(Hs.Initialize, 0, 0x0100_0000, Buffer.from("hislip0"));
    /** Opens a session: the server's answer (type, and the id it gave), and its socket. */
    const session = async () => {
      const answer = Promise.withResolvers<{ type: number; id: number }>();
      const closed = Promise.withResolvers<void>();
      const socket = await Bun.connect({
        hostname: "127.0.0.1",
        port: server.port,
        socket: {
          data(_s, chunk) {
            const b = Buffer.from(chunk);
            answer.resolve({ type: b[2]!, id: b.readUInt32BE(4) & 0xffff });
          },
          close: () => closed.resolve(),
        },
      });
      socket.write(init);
      return { ...(await answer.promise), socket, closed: closed.promise };
    };
    try {
      const first = await session(); // id 1, kept open
      for (const expected of [2, 3]) {
        const s = await session();
        expect(s.id).toBe(expected);
        s.socket.end();
        await s.closed;
      }
      // The count has come round to 1, which `first` holds: the next free one.
      const next = await session();
      expect(first.id).toBe(1);
      expect(next.id).toBe(2);
      const third = await session();
      expect(third.id).toBe(3);
      const refused = await session();
      expect(refused.type).toBe(Hs.FatalError);
      await refused.closed;
      // Both sessions are their own: each one's async channel joins it.
      for (const s of [first, next]) expect(await asyncInitialize(server.port, s.id)).toBe(Hs.AsyncInitializeResponse);
      for (const s of [first, next, third]) s.socket.end();
    } finally {
      server.close();
    }
  });

  test("an unknown sub-address is refused when opening", async () => {
    const err = await rm.open(`TCPIP0::127.0.0.1::hislip7,${sim.port}::INSTR`, { timeoutMs: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.message).toContain("fatal error");
  });
});

/** Opens an async channel for session `id`: the type of the server's answer. */
async function asyncInitialize(port: number, id: number): Promise<number> {
  const answer = Promise.withResolvers<number>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_s, chunk) => answer.resolve(Buffer.from(chunk)[2]!) },
  });
  socket.write(encode(Hs.AsyncInitialize, 0, id));
  const type = await answer.promise;
  socket.end();
  return type;
}

const tshark = Bun.which("tshark");
// Capturing needs root (or dumpcap's capabilities, which Debian grants only to the wireshark group).
const mayCapture =
  process.getuid?.() === 0 || /cap_net_raw/.test(Bun.spawnSync(["getcap", "/usr/bin/dumpcap"]).stdout.toString());
if (!tshark) console.log("HiSLIP capture check skipped: no tshark (apt install tshark)");
else if (!mayCapture) console.log("HiSLIP capture check skipped: capturing on lo needs root or dumpcap's capabilities");

describe.skipIf(!tshark || !mayCapture)("Wireshark's HiSLIP dissector decodes the conversation", () => {
  test("no malformed or wrong-prologue packets, and every message type the client and server use", async () => {
    // Small messages (a 4 kB maximum) keep the capture small: a capture on a loaded machine drops
    // segments of a bulk transfer, and the dissector cannot follow a stream with a hole in it.
    const server = new HislipSimServer(
      new SimulatedInstrument({ ...dmm, operations: [{ q: "MEAS:START", ms: 100 }] }),
      "hislip0",
      { maxMessageSize: 4096 },
    );
    const dir = mkdtempSync(`${tmpdir()}/ld-hislip-`);
    const file = `${dir}/hislip.pcapng`;
    try {
      // -P prints each packet as it is captured: a probe connection seen there proves the capture is live.
      const capture = Bun.spawn(
        [tshark!, "-i", "lo", "-B", "32", "-f", `tcp port ${server.port}`, "-w", file, "-P", "-l"],
        { stdout: "pipe", stderr: "ignore" },
      );
      const reader = capture.stdout.getReader();
      let seen = "";
      const give = Date.now() + 30_000;
      let live = false;
      while (!live && Date.now() < give) {
        const probe = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
        probe.end();
        const got = await Promise.race([reader.read(), Bun.sleep(500).then(() => null)]);
        if (got && !got.done) seen += new TextDecoder().decode(got.value);
        live = seen.includes(String(server.port));
      }
      // Keep reading: a tshark whose stdout fills up stops capturing.
      const drained = (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          seen += new TextDecoder().decode(r.value);
        }
      })();
      if (!live) {
        capture.kill();
        throw new Error("tshark did not capture on lo within 30 s");
      }
      await conversation(server.resource, 2000, 10_000);
      // A last probe seen in the live output means everything before it is in the file too.
      const last = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
      const lastPort = String(last.localPort);
      last.end();
      for (let i = 0; i < 300 && !seen.includes(lastPort); i++) await Bun.sleep(50);
      capture.kill("SIGINT"); // tshark writes out what it captured and exits
      await Promise.race([capture.exited, Bun.sleep(20_000)]);
      await Promise.race([drained, Bun.sleep(1_000)]);
      const decode = (args: string[]) =>
        Bun.spawnSync([tshark!, "-r", file, "-d", `tcp.port==${server.port},hislip`, ...args]).stdout.toString();
      const types = new Set(
        decode(["-Y", "hislip", "-T", "fields", "-e", "hislip.messagetype"]).split(/[\n,]/).filter(Boolean).map(Number),
      );
      // Initialize/Response, AsyncLock/Response, Data, DataEnd, DeviceClearComplete/Acknowledge,
      // AsyncRemoteLocalControl/Response, AsyncMaximumMessageSize/Response, AsyncInitialize/Response, AsyncDeviceClear/Acknowledge, AsyncServiceRequest.
      const missing = [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 19, 20, 23].filter((t) => !types.has(t));
      expect({ missing, seen: [...types].sort((x, y) => x - y) }).toEqual({ missing: [], seen: expect.any(Array) });
      // The dissector shows a Data payload as a string: a binary block's NUL bytes are "trailing stray
      // characters" to it. That note aside, no warning of its own and nothing malformed.
      const filter =
        `_ws.malformed || hislip.wrongprologue || hislip.msgnotnull || ` +
        `(hislip && _ws.expert.severity >= warning && !(_ws.expert.message == "Trailing stray characters"))`;
      const bad = decode(["-Y", filter, "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"]);
      expect(bad.trim()).toBe("");
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
