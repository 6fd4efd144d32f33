// A hung instrument with a long I/O timeout: after a call times out, calls behind it fail fast, and a
// disconnect aborts the stuck I/O instead of waiting it out (real sockets and a pty to the simulator).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ScpiInstrument } from "../../drivers/index.ts";
import { serveSimulators, type RunningSimulators } from "../../drivers/sim/scpi/index.ts";
import { startTestServer, type TestServer } from "../support/apiServer.ts";
import { until } from "../support/fixtures.ts";
import { dmm } from "../support/simDevices.ts";

/** The instrument's own I/O bound: far beyond anything this test waits for. */
const IO_TIMEOUT_MS = 120_000;

let sims: RunningSimulators;
let s: TestServer;
beforeAll(async () => {
  sims = await serveSimulators({
    devices: { dmm },
    resources: [
      { device: "dmm", socket: { port: 0 } },
      { device: "dmm", vxi11: {} },
      { device: "dmm", serial: {} },
    ],
  });
  s = await startTestServer({ logLevel: "silent", callTimeoutMs: 300 });
  s.daemon.registerPlugins({ devices: { ScpiInstrument } });
});
afterAll(async () => {
  await s.close();
  sims.close();
});

for (const kind of ["socket", "vxi11", "serial"] as const) {
  test(`${kind}: after a call times out on a hung instrument, later calls fail fast and disconnect aborts the stuck read`, async () => {
    const resource = sims.resources.find((r) => r.kind === kind)!.resource;
    const id = `dmm-${kind}`;
    const path = (p: string) => `/devices/${id}/${p}`;
    expect(
      (
        await s.req("POST", "/devices", {
          device_id: id,
          device_type: "ScpiInstrument",
          params: { resource, timeoutMs: IO_TIMEOUT_MS },
        })
      ).status,
    ).toBe(200);
    expect((await s.req("POST", path("connect"))).status).toBe(200);

    const hung = await s.req("POST", path("call"), { method: "query", args: ["HANG?"] });
    expect(hung.status).toBe(504);
    expect(s.daemon.deviceState(id).busy).toBe(true); // the read is still waiting on the instrument

    // Each of these would otherwise wait its own full 300 ms bound behind the hung read, and time out.
    const later = await Promise.all(
      [1, 2, 3].map(() => s.req("POST", path("call"), { method: "query", args: ["*IDN?"] })),
    );
    for (const r of later) {
      expect(r.status).toBe(504);
      expect(r.body.error.type).toBe("DeviceTimeoutError");
      expect(r.body.error.message).toContain("still busy with a timed-out call 'query'");
    }

    // Answered well inside the instrument's 120 s I/O timeout (the request itself gives up after 10 s).
    const disconnected = await s.req("POST", path("disconnect"));
    expect(disconnected.status).toBe(200);
    expect(disconnected.body.connected).toBe(false);
    await until(() => !s.daemon.deviceState(id).busy, 10_000, "the aborted read to release the device");

    expect((await s.req("POST", path("connect"))).status).toBe(200);
    const idn = await s.req("POST", path("call"), { method: "idn" });
    expect(idn.body).toEqual({ result: "LabDaemon,SimDMM,0001,1.0", success: true });
  }, 30_000);
}
