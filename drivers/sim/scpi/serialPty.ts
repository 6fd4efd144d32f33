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

export async function servePty(instrument: SimulatedInstrument, link?: string): Promise<PtySim> {
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
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(["socat", "-d", "-d", `pty,raw,echo=0,link=${path}`, `pty,raw,echo=0,link=${simEnd}`], {
      stdout: "ignore",
      stderr: "pipe",
    });
  } catch {
    throw new Error("the serial simulator needs socat (apt install socat)");
  }
  await waitForLine(proc.stderr as ReadableStream<Uint8Array>, "starting data transfer loop", proc.exited);
  const port = await LabDaemonSerialBinding.open({ path: simEnd, baudRate: 115200 });
  const loop = serve(port, instrument);
  return {
    path,
    resource: `ASRL${path}::INSTR`,
    async close() {
      await port.close();
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

async function waitForLine(stream: ReadableStream<Uint8Array>, needle: string, exited: Promise<number>): Promise<void> {
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
  await Promise.race([
    found,
    exited.then((code) => {
      throw new Error(`socat exited (${code}): ${text.trim()}`);
    }),
  ]);
  // Keep draining its log so socat never blocks on a full pipe.
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {
      // the process went away
    }
  })();
}
