// A client that stops reading must not slow the device or other clients, and its queue stays bounded.
import { afterEach, expect, test } from "bun:test";
import { type ManualStreamDevice, until } from "../support/fixtures.ts";
import { RawStream, startSseServer, type TestServer } from "./sseSupport.ts";

let srv: TestServer | null = null;
let stalled: Bun.Subprocess<"pipe", "pipe", "inherit"> | null = null;
afterEach(async () => {
  stalled?.kill();
  await srv?.stop();
});

/** A raw TCP client with a tiny receive buffer that sends the request and then never reads. */
function stalledClient(port: number, path: string) {
  const py = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${port}))
s.sendall(b"GET ${path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAccept: text/event-stream\\r\\n\\r\\n")
print("sent", flush=True)
last = int(sys.stdin.readline())   # stalled until the test says "read now, up to this id"
s.settimeout(30)
want = ("id: %d\\n" % last).encode()
buf = bytearray()
# Only the new bytes (and a needle's length before them) are searched: rescanning megabytes read in
# 4 KB pieces is quadratic, seconds of CPU on a loaded machine.
while True:
    start = max(0, len(buf) - len(want))
    chunk = s.recv(1 << 16)
    if not chunk: break
    buf += chunk
    if buf.find(want, start) != -1: break
ids = [int(l[4:]) for l in buf.split(b"\\n") if l.startswith(b"id: ")]
print(" ".join(map(str, ids)), flush=True)
`;
  return Bun.spawn(["python3", "-c", py], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
}

/** Whole lines from a pipe (a read may end anywhere in a line). */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return {
    async next(): Promise<string> {
      while (!buf.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
      }
      const i = buf.indexOf("\n");
      const line = i === -1 ? buf : buf.slice(0, i);
      buf = i === -1 ? "" : buf.slice(i + 1);
      return line;
    },
  };
}

test("a stalled subscriber loses the oldest events (counted, visible as gaps) while a fast one loses none", async () => {
  const maxEvents = 64;
  srv = await startSseServer({ queue: { maxEvents, maxBytes: 1 << 20 }, keepAliveMs: 60_000, resumeGraceMs: 0 });
  srv.daemon.addDevice("m1", "ManualStreamDevice");
  const dev = srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
  const fast = await RawStream.open(`${srv.base}/stream/devices/m1`);
  const port = Number(new URL(srv.base).port);
  stalled = stalledClient(port, "/stream/devices/m1");
  const lines = lineReader(stalled.stdout!);
  expect(await lines.next()).toBe("sent"); // the request is on its way
  await until(() => srv!.sse.stats("m1")!.subscribers === 2, 15_000, "the stalled client to subscribe");
  // 10 MB in 10 KB events, paced by the fast client: it must see all of them. More than the stalled
  // socket's kernel buffers can hold (at most 8 MB, checked below) plus its queue of 64.
  const blob = "x".repeat(10_000);
  const total = 1000;
  const t0 = performance.now();
  for (let sent = 0; sent < total; ) {
    for (let i = 0; i < 50; i++) dev.emit({ n: sent++, blob });
    await fast.until(() => fast.data.length === sent, 15_000, `fast client at ${sent}`);
  }
  const elapsed = performance.now() - t0;
  const seqs = fast.data.map((d) => d.sequence);
  expect(seqs).toHaveLength(total);
  expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1)).toBe(true);

  const stats = srv.sse.stats("m1")!;
  const slow = stats.clients!.find((c) => c.delivered < total)!;
  const quick = stats.clients!.find((c) => c !== slow)!;
  expect(quick.dropped).toBe(0);
  expect(slow.dropped).toBeGreaterThan(0);
  expect(stats.dropped).toBe(slow.dropped);
  // Bounded: what it holds is within the queue's limits, and everything else was dropped, not buffered.
  expect(slow.queued).toBeLessThanOrEqual(maxEvents);
  expect(slow.queued_bytes).toBeLessThanOrEqual(1 << 20);
  expect(slow.delivered + slow.queued + slow.dropped).toBe(total);
  // Handed to the socket at most what the kernel buffers hold plus one coalesced chunk: a few MB of 20.
  expect(slow.delivered * 10_000).toBeLessThan(8 * 1024 * 1024);
  // Now let it read: its sequence numbers jump where events were dropped.
  stalled.stdin!.write(`${seqs.at(-1)}\n`);
  stalled.stdin!.flush();
  const out = await lines.next();
  const got = out.trim().split(" ").map(Number);
  expect(got.length).toBe(slow.delivered + slow.queued);
  const jumps = got.filter((s, i) => i > 0 && s !== got[i - 1]! + 1).length;
  expect(jumps).toBeGreaterThan(0);
  expect(got.at(-1)).toBe(seqs.at(-1));
  console.log(
    `fast client: ${total} events (10 MB) in ${elapsed.toFixed(0)} ms; stalled client: ` +
      `${slow.delivered} handed to its socket, ${slow.queued} queued, ${slow.dropped} dropped`,
  );
  fast.close();
}, 120_000); // a hang guard: it takes a few seconds, 20-45 s with both cores busy

test("a subscriber that stopped reading holds at most its queue's worth of slots, however many events go by", async () => {
  const maxEvents = 64;
  srv = await startSseServer({ queue: { maxEvents, maxBytes: 8 << 20 }, keepAliveMs: 60_000, resumeGraceMs: 0 });
  srv.daemon.addDevice("m1", "ManualStreamDevice");
  const dev = srv.daemon.getDeviceInstance("m1") as ManualStreamDevice;
  const port = Number(new URL(srv.base).port);
  // Reads the response's first bytes, then never again.
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(s) {
        s.pause();
      },
      error() {},
    },
  });
  try {
    sock.write("GET /stream/devices/m1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    await until(() => srv!.sse.stats("m1")?.subscribers === 1, 5000, "the client to subscribe");
    const conn = srv.sse.connections()[0]!;
    // Fill the socket's kernel buffers until the queue stays full after the socket had its turn.
    const blob = "x".repeat(16 * 1024);
    for (let i = 0; conn.queued < maxEvents; i++) {
      if (i > 5000) throw new Error(`the socket took ${i} events of 16 kB and was never backed up`);
      dev.emit({ blob });
      await new Promise((r) => setImmediate(r));
    }
    const deliveredBefore = conn.delivered;
    const total = 200_000;
    for (let i = 0; i < total; i++) dev.emit({ n: i });
    await until(() => conn.dropped >= total, 10_000, "the events to reach the stalled queue");
    expect(conn.delivered).toBe(deliveredBefore); // it was stalled throughout
    expect(conn.queued).toBe(maxEvents);
    // The compaction rule gives back the spent slots once they outnumber 1024 and the queued ones: a bound
    // set by the queue, not by how many events went past.
    expect(conn.slots).toBeLessThanOrEqual(Math.max(2 * maxEvents, maxEvents + 1024) + 1);
  } finally {
    sock.end();
  }
}, 60_000);
