// A stream the server ends must close the socket even when its client stopped reading: the socket is
// backed up, Bun never pulls the stream again, so the end would otherwise never reach the socket.
import { afterEach, expect, test } from "bun:test";
import { type ManualStreamDevice, until } from "../support/fixtures.ts";
import { startServer, type Running } from "../client/support.ts";

let run: Running | null = null;
let sock: import("bun").Socket<any> | null = null;
afterEach(async () => {
  sock?.end();
  sock = null;
  await run?.stop();
  run = null;
});

/** Whether the server still holds its end of the connection (a paused client never sees a close itself). */
function serverHolds(serverPort: number, clientPort: number): boolean {
  const out = Bun.spawnSync([
    "ss",
    "-Htn",
    "state",
    "established",
    `( sport = :${serverPort} and dport = :${clientPort} )`,
  ]);
  return out.stdout.toString().trim().length > 0;
}

async function stalledSubscriber(opts: { drainTimeoutMs: number }) {
  run = await startServer({
    idleTimeoutSeconds: 1,
    sse: { drainTimeoutMs: opts.drainTimeoutMs, keepAliveMs: 60_000, resumeGraceMs: 0 },
  });
  run.daemon.addDevice("m1", "ManualStreamDevice");
  const dev = run.daemon.getDeviceInstance("m1") as ManualStreamDevice;
  const port = Number(new URL(run.url).port);
  sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(s) {
        s.pause();
      },
      error() {},
    }, // stops reading after the first data
  });
  sock.write("GET /stream/devices/m1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
  await until(() => run!.server.sse.stats("m1")?.subscribers === 1, 3000, "the client to subscribe");
  const blob = "x".repeat(64 * 1024);
  for (let i = 0; i < 200; i++) dev.emit({ n: i, blob });
  await Bun.sleep(300);
  const clientPort = sock.localPort;
  expect(serverHolds(port, clientPort)).toBe(true);
  return { port, clientPort, dev };
}

test("POST stream/stop closes the socket of a client that stopped reading, after the drain timeout", async () => {
  const { port, clientPort } = await stalledSubscriber({ drainTimeoutMs: 200 });
  const res = await fetch(`${run!.url}/devices/m1/stream/stop`, { method: "POST" });
  expect(res.status).toBeLessThan(300);
  await until(() => run!.server.sse.stats("m1")?.subscribers !== 1, 2000, "the connection to end");
  await until(() => !serverHolds(port, clientPort), 9000, "the server to close the stalled socket");
}, 20_000);

test("a stalled client is cut off when the server stops", async () => {
  const { port, clientPort } = await stalledSubscriber({ drainTimeoutMs: 60_000 });
  await run!.server.stop({ timeoutMs: 1000 });
  await until(() => !serverHolds(port, clientPort), 9000, "the server to close the stalled socket");
}, 20_000);
