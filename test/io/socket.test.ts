import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readdirSync } from "node:fs";
import { ResourceManager, parseResourceName } from "../../src/io/index.ts";
import { MAX_QUEUED_BYTES, SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";
import { SimulatedInstrument } from "../../drivers/sim/scpi/instrument.ts";
import {
  DeviceConfigurationError,
  DeviceConnectionError,
  DeviceNotConnectedError,
  DeviceOperationError,
  DeviceTimeoutError,
} from "../../src/core/errors.ts";
import { osMessage } from "../../src/io/net/linkErrors.ts";
import { expectOrderedQueries } from "../support/ordering.ts";
import { until } from "../support/fixtures.ts";
import { crlfDmm, dmm } from "../support/simDevices.ts";

const rm = new ResourceManager();
let sim: SocketSimServer;
let crlf: SocketSimServer;

beforeAll(() => {
  sim = new SocketSimServer(new SimulatedInstrument(dmm));
  crlf = new SocketSimServer(new SimulatedInstrument(crlfDmm));
});
afterAll(async () => {
  await rm.close();
  sim.close();
  crlf.close();
});

describe("TCPIP SOCKET", () => {
  test("query returns the answer without its termination", async () => {
    const inst = await rm.open(sim.resource);
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect(inst.canonicalResource).toBe(`TCPIP0::127.0.0.1::${sim.port}::SOCKET`);
    await inst.close();
  });

  test("write then read, setters change what getters answer", async () => {
    const inst = await rm.open(sim.resource);
    expect(await inst.write("VOLT 7.25")).toBe(10);
    await inst.write("VOLT?");
    expect(await inst.read()).toBe("7.250");
    expect(await inst.queryAscii("READ?")).toEqual([1.25, 2.5, -3.75]);
    await inst.write("VOLT 99"); // out of range: refused, queued as an error
    expect(await inst.query("VOLT?")).toBe("7.250");
    expect(await inst.query("SYST:ERR?")).toBe('-222,"Data out of range"');
    await inst.close();
  });

  test("multi-character read termination (CRLF)", async () => {
    const inst = await rm.open(crlf.resource, { readTermination: "\r\n", writeTermination: "\r\n" });
    expect(await inst.query("*IDN?")).toBe("LabDaemon,SimDMM,0001,1.0");
    expect(await inst.query("READ?")).toBe("1.25,2.5,-3.75");
    await inst.close();
  });

  test("IEEE 488.2 blocks decode in both byte orders and types", async () => {
    const inst = await rm.open(sim.resource);
    await inst.write("POIN 1000");
    const le = await inst.queryBinaryBlock("CURV?");
    expect(le).toBeInstanceOf(Float32Array);
    expect(le.length).toBe(1000);
    expect(le[999]).toBe(999);
    expect([...(await inst.queryBinaryBlock("CURV:BE?", { bigEndian: true }))]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...(await inst.queryBinaryBlock("WAV:I16?", { datatype: "int16", bigEndian: true }))]).toEqual([
      -3, -2, -1, 0, 1, 2, 3, 32767,
    ]);
    expect([...(await inst.queryBinaryBlock("WAV:F64?", { datatype: "float64" }))]).toEqual([0.5, -1.25, 1e-9, 3e12]);
    // The block's trailing newline was consumed: the next query is answered normally.
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("readBinaryBlock after a write, and readRaw up to a chosen terminator", async () => {
    const inst = await rm.open(sim.resource);
    await inst.write("WAV:F64?");
    expect([...(await inst.readBinaryBlock({ datatype: "float64" }))]).toEqual([0.5, -1.25, 1e-9, 3e12]);
    await inst.write("READ?");
    expect(new TextDecoder().decode(await inst.readRaw(","))).toBe("1.25");
    expect(await inst.read()).toBe("2.5,-3.75");
    await inst.close();
  });

  test("a 1 MB block arrives whole", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 5000 });
    await inst.write("POIN 262144");
    const data = await inst.queryBinaryBlock("CURV?");
    expect(data.length).toBe(262144);
    expect(data[262143]).toBe(262143);
    await inst.write("POIN 16");
    await inst.close();
  });

  test("readBytes and writeBytes work without terminations", async () => {
    const inst = await rm.open(sim.resource, { readTermination: null, writeTermination: null });
    await inst.writeBytes(new TextEncoder().encode("*IDN?\n"));
    const bytes = await inst.readBytes(9);
    expect(new TextDecoder().decode(bytes)).toBe("LabDaemon");
    await inst.clear(); // drops the rest of the answer
    await inst.writeBytes(new TextEncoder().encode("VOLT?\n"));
    expect(new TextDecoder().decode(await inst.readBytes(2))).toMatch(/^\d\./);
    await inst.close();
  });

  test("failed opens leave no I/O thread behind (a retry loop against an instrument that is off)", async () => {
    const threads = () => readdirSync("/proc/self/task").length;
    const before = threads();
    for (let i = 0; i < 40; i++) {
      const err = await rm.open("TCPIP::127.0.0.1::1::SOCKET", { timeoutMs: 200 }).catch((e) => e);
      expect(err).toBeInstanceOf(DeviceConnectionError);
    }
    // Not a GC pass: the threads end at once, well before the JS heap would be collected.
    for (let i = 0; i < 1000 && threads() > before + 2; i++) await Bun.sleep(10); // up to 10 s on a loaded machine
    expect(threads()).toBeLessThanOrEqual(before + 2);
  });

  test("an argument of the wrong type rejects the returned promise instead of throwing synchronously", async () => {
    const inst = await rm.open(sim.resource);
    let p: Promise<unknown> | undefined;
    let thrown: unknown = null;
    try {
      p = inst.writeBytes(42 as unknown as Uint8Array);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeNull();
    expect(p).toBeInstanceOf(Promise);
    expect(await p!.catch((e) => e)).toBeInstanceOf(TypeError);
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("a termChar that is not one byte is refused when opening", async () => {
    for (const termChar of [256, -2]) {
      const err = await rm.open(sim.resource, { termChar }).catch((e) => e);
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toContain("termChar");
    }
    expect(rm.openInstruments.length).toBe(0);
    // A termination beyond latin-1 is matched as UTF-8; its last byte is the interface's term char.
    const arrow = await rm.open(sim.resource, { readTermination: "\u2192" });
    await arrow.close();
  });

  test("readBytes refuses a count over maxReadBytes or not a whole number, at once and naming the resource", async () => {
    const inst = await rm.open(sim.resource, { maxReadBytes: 1024, timeoutMs: 20_000 });
    const t0 = performance.now();
    for (const count of [4096, -1, 1.5, Number.NaN, 2 ** 40]) {
      const err = await inst.readBytes(count).catch((e) => e);
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toContain(sim.resource);
    }
    expect(performance.now() - t0).toBeLessThan(10_000); // refused, none waited for the 20 s timeout
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("a silent instrument rejects with DeviceTimeoutError carrying the resource, and the session goes on", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 150 });
    const t0 = performance.now();
    const err = await inst.query("HANG?").catch((e) => e);
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.resource).toBe(sim.resource);
    expect(err.context.codeName).toBe("ETIMEDOUT");
    expect(err.message).toContain(sim.resource);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1500); // its own 150 ms, not the 2 s default
    inst.timeoutMs = 20_000; // an answered query: a hang guard
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
  });

  test("a peer that closes mid-read gives DeviceConnectionError, and the next request reconnects", async () => {
    const inst = await rm.open(sim.resource);
    const err = await inst.query("DROP?").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context.resource).toBe(sim.resource);
    expect(err.context.codeName).toBe("ECONNRESET");
    expect(await inst.query("*IDN?")).toStartWith("LabDaemon");
    await inst.close();
    const again = await rm.open(sim.resource);
    expect(await again.query("*IDN?")).toStartWith("LabDaemon");
    await again.close();
  });

  test("1,000 queries from concurrent callers are answered in order", async () => {
    const inst = await rm.open(sim.resource, { timeoutMs: 30_000 }); // per query, a hang guard: see ordering.ts
    await expectOrderedQueries(inst);
    await inst.close();
  });

  test("refused connections and closed instruments give typed errors", async () => {
    const closedPort = new SocketSimServer(new SimulatedInstrument(dmm));
    const resource = closedPort.resource;
    closedPort.close();
    const err = await rm.open(resource, { timeoutMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context).toMatchObject({ resource, codeName: "ECONNREFUSED" });
    expect(err.message).toContain("Connection refused"); // the OS's reason, not only that it failed
    const inst = await rm.open(sim.resource);
    await inst.close();
    await expect(inst.query("*IDN?")).rejects.toBeInstanceOf(DeviceNotConnectedError);
  });
});

/** A raw SCPI peer: every line "Qn" is answered "Rn\n" unless `answer` says otherwise (undefined: as usual). */
function scriptedPeer(
  answer: (line: string, socket: Socket<undefined>) => string | null | undefined = () => undefined,
) {
  const sockets: Socket<undefined>[] = [];
  let opened = 0;
  const server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        opened++;
        sockets.push(socket);
      },
      data(socket, chunk) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) {
          const reply = answer(line, socket);
          if (reply !== null) socket.write(reply ?? `R${line.slice(1)}\n`);
        }
      },
    },
  });
  return {
    resource: `TCPIP::127.0.0.1::${server.port}::SOCKET`,
    port: server.port,
    get connections() {
      return opened;
    },
    /** The instrument side of the (last) connection. */
    get socket() {
      return sockets.at(-1)!;
    },
    stop: () => server.stop(true),
  };
}

describe("answers stay in step", () => {
  test("a query that timed out halfway is given up: its late rest is dropped and later answers are their own", async () => {
    const peer = scriptedPeer((line) => (line === "Q1" ? "PART" : undefined));
    const inst = await rm.open(peer.resource, { timeoutMs: 200 });
    const err = await inst.query("Q1").catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err.context.codeName).toBe("ETIMEDOUT");
    peer.socket.write("IAL1\n"); // the rest of Q1's answer, after the deadline
    inst.timeoutMs = 20_000; // answered queries: a hang guard
    expect(await inst.query("Q2")).toBe("R2"); // not "PARTIAL1"
    expect(await inst.query("Q3")).toBe("R3"); // not "R2"
    await inst.close();
    peer.stop();
  });

  for (const netIo of ["event-loop", "native"] as const) {
    test(`${netIo}: a whole answer that comes after its query timed out is never taken for a later query's`, async () => {
      // The answer to Q1 (a slow measurement) comes only once the next query has been sent, just ahead of
      // that query's own answer: on the same connection nothing could tell them apart.
      let first: Socket<undefined> | null = null;
      const peer = scriptedPeer((line, socket) => {
        if (line === "Q1") {
          first = socket;
          return null;
        }
        if (line === "Q2") first!.write("LATE1\n");
        return undefined;
      });
      const manager = new ResourceManager({ netIo });
      const inst = await manager.open(peer.resource, { timeoutMs: 200 });
      expect(await inst.query("Q1").catch((e) => e)).toBeInstanceOf(DeviceTimeoutError);
      inst.timeoutMs = 20_000; // answered queries: a hang guard
      expect(await inst.query("Q2")).toBe("R2");
      expect(await inst.query("Q3")).toBe("R3");
      expect(peer.connections).toBe(2); // the timeout's clear was a new connection
      await manager.close();
      peer.stop();
    });
  }

  for (const netIo of ["event-loop", "native"] as const) {
    test(`${netIo}: the rest of an answer given up as too long (a line, a block) never becomes a later query's answer`, async () => {
      // Each answer's first part comes at once; its rest only once the next query has been sent.
      let held: Socket<undefined> | null = null;
      const peer = scriptedPeer((line, socket) => {
        if (line === "LONG") {
          held = socket;
          socket.write("A".repeat(1100));
          return null;
        }
        if (line === "BIG") {
          held = socket;
          socket.write(`#41200${"B".repeat(200)}`);
          return null;
        }
        if (line === "Q2") held!.write(`${"A".repeat(100)}\n`);
        if (line === "Q3") held!.write(`${"B".repeat(1000)}\n`);
        return undefined;
      });
      const manager = new ResourceManager({ netIo });
      const inst = await manager.open(peer.resource, { timeoutMs: 20_000, maxReadBytes: 1000 });
      const long = await inst.query("LONG").catch((e) => e);
      expect(long).toBeInstanceOf(DeviceOperationError);
      expect(long.message).toContain("no read termination within 1000 bytes");
      expect(await inst.query("Q2")).toBe("R2");
      const big = await inst.queryBinaryBlock("BIG", { datatype: "uint8" }).catch((e) => e);
      expect(big).toBeInstanceOf(DeviceOperationError);
      expect(big.message).toContain("IEEE 488.2 block of 1200 bytes exceeds the limit");
      expect(await inst.query("Q3")).toBe("R3");
      expect(peer.connections).toBe(3); // each answer given up was left behind with its connection
      await manager.close();
      peer.stop();
    });
  }

  test("a bad block datatype is refused before anything is sent; a block that is not whole values is the instrument's fault", async () => {
    const received: string[] = [];
    const peer = scriptedPeer((line) => {
      received.push(line);
      return line === "Q1" ? "#13abc\n" : undefined;
    });
    const inst = await rm.open(peer.resource, { timeoutMs: 20_000 });
    for (const datatype of ["float16", "f", "constructor", "__proto__"]) {
      const err = await inst.queryBinaryBlock("Q9", { datatype: datatype as "float32" }).catch((e) => e);
      expect(err).toBeInstanceOf(DeviceConfigurationError);
      expect(err.message).toBe(`${peer.resource}: unknown block datatype '${datatype}'`);
      expect(err.context.resource).toBe(peer.resource);
    }
    expect(received).toEqual([]);
    const odd = await inst.queryBinaryBlock("Q1", { datatype: "int16" }).catch((e) => e);
    expect(odd).toBeInstanceOf(DeviceOperationError);
    expect(odd.message).toBe(`${peer.resource}: block of 3 bytes is not a whole number of int16 values`);
    expect(await inst.query("Q2")).toBe("R2");
    await inst.close();
    peer.stop();
  });

  for (const netIo of ["event-loop", "native"] as const) {
    test(`${netIo}: a block query answered by a message with no block fails at once, naming the answer`, async () => {
      const peer = scriptedPeer((line) => (line === "Q1" ? '-113,"Undefined header"\n' : undefined));
      const manager = new ResourceManager({ netIo });
      const inst = await manager.open(peer.resource, { timeoutMs: 10_000 });
      const t0 = performance.now();
      const err = await inst.queryBinaryBlock("Q1").catch((e) => e);
      expect(err).toBeInstanceOf(DeviceOperationError);
      expect(err.message).toBe(
        `${peer.resource}: expected an IEEE 488.2 block, got the answer '-113,"Undefined header"'`,
      );
      expect(performance.now() - t0).toBeLessThan(5_000); // not at the 10 s deadline
      // The message was the answer: the next query gets its own.
      expect(await inst.query("Q2")).toBe("R2");
      await manager.close();
      peer.stop();
    });
  }

  test("a query drops an earlier answer nobody read, so the answer it returns is its own", async () => {
    const written = Promise.withResolvers<void>();
    const peer = scriptedPeer((line, socket) => {
      if (line !== "Q5") return undefined;
      socket.write("R5\n");
      written.resolve();
      return null;
    });
    const inst = await rm.open(peer.resource, { timeoutMs: 1000 });
    await inst.write("Q5"); // answered, never read
    await written.promise;
    expect(await inst.query("Q6")).toBe("R6");
    await inst.close();
    peer.stop();
  });
});

test("a host name that does not resolve says so, not the resolver's code read as an errno (EINTR)", () => {
  const dns = Object.assign(new Error("getaddrinfo ENOTFOUND nohost"), { code: "ENOTFOUND", errno: 4 });
  expect(osMessage(dns)).toBe("cannot resolve the host name");
  const refused = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED", errno: 111 });
  expect(osMessage(refused)).toBe("Connection refused");
});

describe("timeouts", () => {
  test("a timeout that is not a finite number of ms above 0 and at most 24 h is refused at the call, naming the value", async () => {
    const peer = scriptedPeer();
    const inst = await rm.open(peer.resource);
    const openBefore = rm.openInstruments.length;
    for (const bad of [Infinity, NaN, -5, 1e13]) {
      inst.timeoutMs = bad;
      const t0 = performance.now();
      for (const call of [() => inst.query("Q1"), () => inst.read(), () => inst.clear(), () => inst.lock()]) {
        const err = await call().catch((e) => e);
        expect(err).toBeInstanceOf(RangeError);
        expect(err.message).toBe(
          `timeoutMs must be a finite number of milliseconds above 0 up to 86400000 (24 h), got ${bad}`,
        );
      }
      expect(performance.now() - t0).toBeLessThan(100); // refused, not waited for (or timed out at once)
      const open = await rm.open(peer.resource, { timeoutMs: bad }).catch((e) => e);
      expect(open).toBeInstanceOf(RangeError);
      expect(open.message).toContain(`got ${bad}`);
    }
    expect(rm.openInstruments.length).toBe(openBefore);
    inst.timeoutMs = 86_400_000; // a day is the longest allowed
    expect(await inst.query("Q7")).toBe("R7");
    await inst.close();
    peer.stop();
  });
});

describe("resource strings", () => {
  const parseError = (text: string): DeviceConfigurationError | undefined => {
    try {
      parseResourceName(text);
    } catch (e) {
      return e as DeviceConfigurationError;
    }
    return undefined;
  };

  test("a control character anywhere is refused naming the part, before anything connects", async () => {
    const peer = scriptedPeer();
    const resource = `TCPIP::127.0.0.1\0.evil.example::${peer.port}::SOCKET`; // the NUL would end the host at 127.0.0.1
    const err = await rm.open(resource).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConfigurationError);
    expect(err.message).toContain("the host address '127.0.0.1\\x00.evil.example' holds a control character");
    expect(err.message).not.toContain("\0");
    expect(err.context.resource).toBe(resource);
    for (const [bad, part] of [
      [`TCPIP::127.0.0.1::${peer.port}::SOCKET\n`, "part 4 'SOCKET\\x0a'"],
      ["ASRL/dev/ttyS0\r::INSTR", "the serial port path '/dev/ttyS0\\x0d'"],
      ["TCPIP::127.0.0.1::inst\x7f::INSTR", "the LAN device name 'inst\\x7f'"],
    ] as const) {
      const e = parseError(bad);
      expect(e).toBeInstanceOf(DeviceConfigurationError);
      expect(e!.message).toContain(part);
      expect(e!.context.resource).toBe(bad);
    }
    expect(peer.connections).toBe(0);
    peer.stop();
  });

  test("errors carry the resource exactly as given, even one UTF-8 cannot carry (a lone surrogate)", async () => {
    const missing = "/dev/labdaemon-missing-\ud800";
    const err = await rm.open(missing, { timeoutMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceConnectionError);
    expect(err.context.resource).toBe(missing);
    const bad = "TCPIP::\ud800::port::SOCKET";
    const parsed = parseError(bad);
    expect(parsed).toBeInstanceOf(DeviceConfigurationError);
    expect(parsed!.context.resource).toBe(bad);
  });
});

describe("listResources", () => {
  test("lists the LAN instruments the manager was told about (LAN has no discovery here)", async () => {
    const lan = new ResourceManager({ lanInstruments: ["TCPIP0::10.0.0.5::inst0::INSTR"] });
    const found = await lan.listResources();
    expect(found).toContain("TCPIP0::10.0.0.5::inst0::INSTR");
    for (const r of found) expect(r).toMatch(/^(ASRL\/dev\/\S+::INSTR|TCPIP0::)/);
  });
});

describe("closing", () => {
  test("requests made before close() complete; later ones reject; the session's thread ends", async () => {
    const sim = new SocketSimServer(new SimulatedInstrument(dmm));
    const rm = new ResourceManager();
    const threads = () =>
      Number(/Threads:\s+(\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8"))![1]);
    const before = threads();
    const insts = await Promise.all(Array.from({ length: 20 }, () => rm.open(sim.resource)));
    const pending = insts.map((i) => i.query("*IDN?"));
    await Promise.all(insts.map((i) => i.close()));
    for (const answer of await Promise.all(pending)) expect(answer).toStartWith("LabDaemon");
    await expect(insts[0]!.query("*IDN?")).rejects.toBeInstanceOf(DeviceNotConnectedError);
    // Thread exit is asynchronous to close(): allow the kernel a moment, by polling, not sleeping blindly.
    for (let i = 0; i < 2000 && threads() > before + 2; i++) await Bun.sleep(5);
    expect(threads()).toBeLessThanOrEqual(before + 2);
    sim.close();
  });
});

test("the socket simulator stops reading a client that does not read its answers: what waits stays bounded", async () => {
  const sim = new SocketSimServer(new SimulatedInstrument(dmm));
  const client = await Bun.connect({ hostname: "127.0.0.1", port: sim.port, socket: { data() {} } });
  try {
    client.pause(); // a client that never reads
    // 20 answers of 4 MB each: 80 MB if the simulator kept answering into its queue.
    client.write(`POIN 1000000\n${"CURV?\n".repeat(20)}`);
    await until(() => sim.queuedBytes > 0, 20_000, "answers to wait for the client");
    expect(sim.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES + 4_000_020); // the limit and one answer
  } finally {
    client.terminate();
    sim.close();
  }
});
