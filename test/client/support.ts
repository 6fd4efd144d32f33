// A real LabDaemonServer on a free port, with the shared fixture classes, for the client tests.
import { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer, type LabDaemonServerOptions } from "../../src/server/index.ts";
import { BatchStreamDevice, deviceClasses, ManualStreamDevice, taskClasses } from "../support/fixtures.ts";

export interface Running {
  daemon: LabDaemon;
  server: LabDaemonServer;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(opts: LabDaemonServerOptions = {}): Promise<Running> {
  const daemon = new LabDaemon();
  daemon.registerPlugins({ devices: { ...deviceClasses, ManualStreamDevice, BatchStreamDevice }, tasks: taskClasses });
  const server = new LabDaemonServer(daemon, { port: 0, logLevel: "silent", ...opts });
  await server.start();
  return {
    daemon,
    server,
    url: server.url,
    async stop() {
      await server.stop({ timeoutMs: 1000 });
      await daemon.shutdown({ timeoutMs: 500 });
    },
  };
}

/** A TCP relay in front of a server whose live connections the test can cut, like a dropped network. */
export async function startRelay(targetPort: number) {
  const pairs = new Set<{ client: import("bun").Socket<any>; upstream: import("bun").Socket<any> | null }>();
  const listener = Bun.listen<{
    pair: { client: import("bun").Socket<any>; upstream: import("bun").Socket<any> | null; pending: Uint8Array[] };
  }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const pair = { client, upstream: null as import("bun").Socket<any> | null, pending: [] as Uint8Array[] };
        client.data = { pair };
        pairs.add(pair);
        pair.upstream = await Bun.connect({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            data(_s, chunk) {
              client.write(chunk);
            },
            close() {
              client.end();
            },
            error() {
              client.end();
            },
          },
        });
        for (const c of pair.pending) pair.upstream.write(c);
        pair.pending = [];
      },
      data(client, chunk) {
        const p = client.data.pair;
        if (p.upstream) p.upstream.write(chunk);
        else p.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.pair.upstream?.end();
        pairs.delete(client.data.pair);
      },
      error() {},
    },
  });
  return {
    url: `http://127.0.0.1:${listener.port}`,
    /** Cuts every connection now (both sides), as a network failure would. */
    cutAll() {
      for (const p of [...pairs]) {
        p.client.terminate();
        p.upstream?.terminate();
        pairs.delete(p);
      }
    },
    stop() {
      this.cutAll();
      listener.stop(true);
    },
  };
}
