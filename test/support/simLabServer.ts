// The built-in simulated lab (what `labdaemon serve --sim` serves) behind a real server on a loopback
// port, in this process: for page tests that need the lab's real devices and SweepTask.
import { fromObject } from "../../src/cli/config.ts";
import { buildLab } from "../../src/cli/lab.ts";
import { simLab, SIM_LAB_LABEL } from "../../src/cli/simLab.ts";
import type { LabDaemon } from "../../src/index.ts";
import { LabDaemonServer } from "../../src/server/index.ts";

export interface SimLabServer extends AsyncDisposable {
  daemon: LabDaemon;
  server: LabDaemonServer;
  url: string;
}

export async function startSimLabServer(opts: { token?: string } = {}): Promise<SimLabServer> {
  const lab = await buildLab(fromObject(simLab, SIM_LAB_LABEL));
  const server = new LabDaemonServer(lab.daemon, { port: 0, logLevel: "silent", token: opts.token });
  try {
    await server.start();
  } catch (e) {
    await lab.shutdown(2000);
    throw e;
  }
  return {
    daemon: lab.daemon,
    server,
    url: server.url,
    async [Symbol.asyncDispose]() {
      await server.stop({ timeoutMs: 2000 });
      await lab.shutdown(2000);
    },
  };
}
