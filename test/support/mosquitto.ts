// A real MQTT broker for tests: Debian's mosquitto on a free loopback port, started and stopped by the test.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => Bun.file(p).size > 0) ?? null;

export interface Broker {
  port: number;
  url: string;
  /** Kills the broker (SIGKILL: no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port (retained messages are gone: no persistence), with `extra`
   * configuration lines in place of the ones it started with when given. */
  restart(extra?: string): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** `extra`: more mosquitto.conf lines (e.g. "max_packet_size 20000"). */
export async function startBroker(extra = ""): Promise<Broker> {
  if (!MOSQUITTO) throw new Error("mosquitto is not installed (apt install mosquitto)");
  const dir = mkdtempSync(join(tmpdir(), "labdaemon-mqtt-"));
  const port = freePort();
  const conf = join(dir, "mosquitto.conf");
  const configure = (lines: string) =>
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\n${/allow_anonymous/.test(lines) ? "" : "allow_anonymous true\n"}persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n${lines}\n`,
    );
  configure(extra);
  let proc: Subprocess<"ignore", "ignore", "pipe"> | null = null;
  const launch = async () => {
    const p = Bun.spawn([MOSQUITTO!, "-c", conf], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    proc = p;
    // Ready when it says it is running (it has opened its listener by then).
    const reader = p.stderr.getReader();
    let seen = "";
    const deadline = setTimeout(() => p.kill(), 20_000);
    while (!/running/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`mosquitto exited before it was ready:\n${seen}`);
      seen += new TextDecoder().decode(value);
    }
    clearTimeout(deadline);
    // Keep draining its log so it never blocks on a full pipe.
    void (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {});
  };
  await launch();
  const kill = async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    kill,
    restart: (lines?: string) => {
      if (lines !== undefined) configure(lines);
      return launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
