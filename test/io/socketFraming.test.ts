// SOCKET answers framed in the data callback (the idle fast path) against a scripted peer that splits
// them at awkward places, and the recovery after a command cut short by its deadline.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { ResourceManager } from "../../src/io/index.ts";
import { DeviceTimeoutError } from "../../src/core/errors.ts";

const rm = new ResourceManager({ netIo: "event-loop" });
let server: TCPSocketListener<{ n: number; text: string }> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

/** A peer answering each line through `answer(line, socket, connectionIndex)`; returns the resource. */
function peer(
  answer: (line: string, s: Socket<{ n: number; text: string }>, n: number) => void,
  onOpen?: (s: Socket<{ n: number; text: string }>, n: number) => void,
): string {
  let connections = 0;
  server = Bun.listen<{ n: number; text: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { n: connections++, text: "" };
        onOpen?.(s, s.data.n);
      },
      data(s, chunk) {
        s.data.text += chunk.toString("latin1");
        let nl = s.data.text.indexOf("\n");
        while (nl >= 0) {
          const line = s.data.text.slice(0, nl);
          s.data.text = s.data.text.slice(nl + 1);
          answer(line, s, s.data.n);
          nl = s.data.text.indexOf("\n");
        }
      },
    },
  });
  return `TCPIP0::127.0.0.1::${server.port}::SOCKET`;
}

// Pieces sent with a turn of the peer's event loop between them, so they reach the client apart.
async function sendApart(s: Socket<unknown>, pieces: string[]): Promise<void> {
  for (const p of pieces) {
    s.write(p);
    s.flush();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("answers framed as they arrive", () => {
  test("a line and a block split at every awkward place arrive whole", async () => {
    const res = peer((line, s) => {
      if (line === "TXT?") void sendApart(s, ["hel", "lo wo", "rld\n"]);
      if (line === "BLK?") void sendApart(s, ["#", "2", "1", "0abcd", "efghij", "\n"]);
      if (line === "ECHO?") void sendApart(s, ["CURV ", "#15ab", "cde\n"]);
      if (line === "LATE?") void sendApart(s, ["#13xyz", "\n"]);
    });
    const inst = await rm.open(res, { timeoutMs: 5000 });
    expect(await inst.query("TXT?")).toBe("hello world");
    expect(Buffer.from(await inst.queryBlockBytes("BLK?")).toString()).toBe("abcdefghij");
    expect(Buffer.from(await inst.queryBlockBytes("ECHO?")).toString()).toBe("abcde");
    expect(Buffer.from(await inst.queryBlockBytes("LATE?")).toString()).toBe("xyz");
    expect(await inst.query("TXT?")).toBe("hello world"); // nothing of the blocks was left behind
    await inst.close();
  });

  test("blocks at and above the in-callback limit (64 kB) go straight into the returned buffer", async () => {
    const sizes = [65535, 65536, 300_000];
    const res = peer((line, s) => {
      const n = Number(line.slice(3));
      const body = Buffer.alloc(n, n % 251);
      s.write(Buffer.concat([Buffer.from(`#${String(n).length}${n}`), body, Buffer.from("\n")]));
    });
    const inst = await rm.open(res, { timeoutMs: 5000 });
    for (const n of sizes) {
      const got = await inst.queryBlockBytes(`BLK${n}`);
      expect(got.byteLength).toBe(n);
      expect(got.every((b) => b === n % 251)).toBe(true);
    }
    expect(await inst.query("BLK3")).toBe(`#13${"\u0003".repeat(3)}`);
    await inst.close();
  });

  test("an answer timed out halfway by the in-callback reader is dropped, and concurrent callers stay in order", async () => {
    const res = peer((line, s) => {
      if (line === "SLOW") s.write("PART");
      else s.write(`R${line}\n`);
    });
    const inst = await rm.open(res, { timeoutMs: 200 });
    expect(await inst.query("SLOW").catch((e) => e)).toBeInstanceOf(DeviceTimeoutError);
    inst.timeoutMs = 20_000; // answered queries: a hang guard
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => inst.query(String(i))));
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => `R${i}`));
    await inst.close();
  });
});

describe("a command cut short by its deadline", () => {
  test("the next request reconnects, so the instrument never sees the fragment joined to the next command", async () => {
    const seen: string[] = [];
    const res = peer(
      (line, s, n) => {
        seen.push(`${n}:${line.slice(0, 10)}`);
        s.write(`R:${line}\n`);
      },
      // The first connection reads nothing: the kernel's buffers fill and the write stops partway.
      (s, n) => {
        if (n === 0) s.pause();
      },
    );
    const inst = await rm.open(res, { timeoutMs: 300 });
    const err = await inst.writeBytes(Buffer.alloc(64 << 20, 0x41)).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    inst.timeoutMs = 20_000; // answered queries: a hang guard
    expect(await inst.query("Q2")).toBe("R:Q2");
    expect(await inst.query("Q3")).toBe("R:Q3");
    expect(seen).toEqual(["1:Q2", "1:Q3"]);
    await inst.close();
  }, 20_000);
});
