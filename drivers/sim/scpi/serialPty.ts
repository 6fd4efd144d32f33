// A simulated instrument behind a pseudo-terminal: socat makes a pty pair, the client opens one end
// (a path like /dev/ttyUSB0), the simulator holds the other through the addon's serial port.
import { lstatSync } from "node:fs";
import { LabDaemonSerialBinding, type LabDaemonSerialPort } from "../../../src/io/serialBinding.ts";
import type { SimulatedInstrument } from "./instrument.ts";
import { MAX_PENDING_BYTES, splitMessages } from "./messages.ts";
import { SimDefinitionError, badLink } from "./definition.ts";

export interface PtySim {
  /** The client's end. */
  path: string;
  resource: string;
  close(): Promise<void>;
}

let counter = 0;

/** Serves `instrument` on a new pty pair; `signal` abandons the start (socat is stopped either way on failure). */
export async function servePty(instrument: SimulatedInstrument, link?: string, signal?: AbortSignal): Promise<PtySim> {
  const path = link ?? `/tmp/labdaemon-sim-${process.pid}-${++counter}`;
  const simEnd = `${path}.sim`;
  const bad = badLink(path);
  if (bad) throw new SimDefinitionError(`serial link ${JSON.stringify(path)}: ${bad}`);
  // socat replaces whatever is at `link=`: a file there is someone's, not a pty link left behind.
  for (const p of [path, simEnd]) {
    const existing = lstatSync(p, { throwIfNoEntry: false });
    if (existing && !existing.isSymbolicLink())
      throw new SimDefinitionError(
        `serial link ${JSON.stringify(p)}: a file already exists there; choose another path`,
      );
  }
  signal?.throwIfAborted();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(["socat", "-d", "-d", `pty,raw,echo=0,link=${path}`, `pty,raw,echo=0,link=${simEnd}`], {
      stdout: "ignore",
      stderr: "pipe",
    });
  } catch {
    throw new Error("the serial simulator needs socat (apt install socat)");
  }
  let port: LabDaemonSerialPort | null = null;
  try {
    await waitForLine(proc.stderr as ReadableStream<Uint8Array>, "starting data transfer loop", proc.exited, signal);
    port = await LabDaemonSerialBinding.open({ path: simEnd, baudRate: 115200 });
    signal?.throwIfAborted();
  } catch (e) {
    // Whatever failed, socat must not outlive the start that spawned it.
    await port?.close().catch(() => undefined);
    proc.kill();
    await proc.exited;
    throw e;
  }
  const opened = port;
  const loop = serve(opened, instrument);
  return {
    path,
    resource: `ASRL${path}::INSTR`,
    async close() {
      await opened.close();
      await loop;
      proc.kill();
      await proc.exited;
    },
  };
}

async function serve(port: LabDaemonSerialPort, instrument: SimulatedInstrument): Promise<void> {
  const buf = Buffer.alloc(65536);
  let pending = "";
  /** Set once a line outgrew MAX_PENDING_BYTES: its bytes are dropped up to its terminator. */
  let discarding = false;
  const term = instrument.queryTerm;
  for (;;) {
    let n: number;
    try {
      n = (await port.read(buf, 0, buf.length)).bytesRead;
    } catch {
      return; // closed
    }
    pending += buf.toString("latin1", 0, n);
    if (discarding) {
      const at = pending.indexOf(term);
      // Kept: the start of a terminator the next read may complete.
      if (at < 0) pending = pending.slice(Math.max(0, pending.length - term.length + 1));
      else {
        pending = pending.slice(at + term.length);
        discarding = false;
      }
      if (discarding) continue;
    }
    const { messages, rest } = splitMessages(pending, term);
    pending = rest;
    // A serial line cannot be hung up on: what a client sends without end is dropped, as a UART overruns.
    if (pending.length > MAX_PENDING_BYTES) {
      pending = "";
      discarding = true;
    }
    for (const message of messages) {
      const reply = instrument.handle(message);
      // A serial line cannot be "closed by the peer": a drop is just a partial answer.
      if (reply.kind === "data" || reply.kind === "drop")
        await port.write(Buffer.from(reply.bytes)).catch(() => undefined);
    }
  }
}

async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  needle: string,
  exited: Promise<number>,
  signal?: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const found = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`socat ended before it was ready: ${text.trim()}`);
      text += decoder.decode(value);
      if (text.includes(needle)) return;
    }
  })();
  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  try {
    await Promise.race([
      found,
      aborted,
      exited.then((code) => {
        throw new Error(`socat exited (${code}): ${text.trim()}`);
      }),
    ]);
  } finally {
    // Keep draining its log so socat never blocks on a full pipe (and a lost race is not an unhandled rejection).
    void found
      .then(async () => {
        for (;;) if ((await reader.read()).done) return;
      })
      .catch(() => undefined); // the process went away
    aborted.catch(() => undefined);
  }
}
