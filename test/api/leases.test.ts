// Device leases over HTTP: a leased device takes commands only with its lease id, reads stay free, leases
// expire, renew and can be forced open by the administrator; the TS client's lease renews itself and is
// released by `await using`; many clients at once never see two holders or a command slip through.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ServerAPI, ServerAPIError } from "../../src/client/index.ts";
import { startServer, type Running } from "../client/support.ts";
import { StubbornTask } from "../support/fixtures.ts";

let lab: Running;
let api: ServerAPI;
beforeAll(async () => {
  lab = await startServer();
  api = new ServerAPI(lab.url);
  for (const id of ["d1", "d2", "d3", "d4", "race"])
    await lab.daemon.connectDevice(lab.daemon.addDevice(id, "MockDevice", {}));
});
afterAll(async () => {
  StubbornTask.release?.();
  await lab.stop();
});

async function refusal(p: Promise<unknown>): Promise<ServerAPIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServerAPIError) return e;
    throw e;
  }
  throw new Error("expected a refusal, got success");
}

/** Resolves when the daemon says the device's lease ended (expiry fires a device event). */
const leaseEnded = (id: string) =>
  new Promise<void>((r) => {
    const off = lab.daemon.on("device", (e) => {
      if (e.deviceId === id && e.kind === "lease_ended") off(), r();
    });
  });

describe("leases", () => {
  test("a leased device refuses commands without the lease (409 DeviceLeased with holder and expiry); with it they pass; reads stay free", async () => {
    const lease = await api.lease("d1", { ttl: 30, holder: "alice" });
    const denied = await refusal(api.callDeviceMethod("d1", "addNumbers", [1, 2]));
    expect(denied.status).toBe(409);
    expect(denied.type).toBe("DeviceLeased");
    expect(denied.context).toMatchObject({ device_id: "d1", holder: "alice", expires_at: lease.expiresAt });
    expect((await refusal(api.disconnectDevice("d1"))).type).toBe("DeviceLeased");
    await api.disconnectDevice("d1", lease.options);
    const commands: [string, () => Promise<unknown>][] = [
      ["connect", () => api.connectDevice("d1")],
      ["stream stop", () => api.stopDeviceStream("d1")],
      ["DELETE", () => api.removeDevice("d1")],
      ["task", () => api.executeTask("t-nolease", "ExclusiveTask", { device_ids: ["d1"] })],
    ];
    for (const [what, command] of commands)
      expect({ what, type: (await refusal(command())).type }).toEqual({ what, type: "DeviceLeased" });
    expect(lab.daemon.hasTask("t-nolease")).toBe(false);
    await api.connectDevice("d1", lease.options);
    expect(await api.callDeviceMethod("d1", "addNumbers", [1, 2], undefined, lease.options)).toBe(3);
    const seen = await api.getDevice("d1");
    expect(seen.lease).toEqual({ holder: "alice", expires_at: lease.expiresAt });
    expect(JSON.stringify(seen)).not.toContain(lease.leaseId);
    expect((await api.getDeviceMethods("d1")).methods.length).toBeGreaterThan(0);
    // A task started with the lease may use the leased device.
    const started = await api.executeTask("t-lease", "ExclusiveTask", { device_ids: ["d1"], ms: 1 }, lease.options);
    expect(started.task_id).toBe("t-lease");
    await lease.release();
    expect((await api.getDevice("d1")).lease).toBeNull();
    expect(await api.callDeviceMethod("d1", "addNumbers", [2, 2])).toBe(4);
  });

  test("a second lease is refused while the first lives; a wrong lease id is refused like none", async () => {
    const first = await api.lease("d2", { ttl: 30, holder: "bob" });
    expect((await refusal(api.lease("d2", { ttl: 30, holder: "carol" }))).type).toBe("DeviceLeased");
    const wrong = await refusal(api.callDeviceMethod("d2", "hello", [], undefined, { leaseId: "not-the-lease" }));
    expect(wrong.type).toBe("DeviceLeased");
    expect(wrong.message).toEndWith("(the lease id sent is not its)");
    // Renewing or releasing without a lease id says what is missing, not that a wrong one was sent.
    for (const method of ["POST", "DELETE"]) {
      const path = method === "POST" ? "/devices/d2/lease/renew" : "/devices/d2/lease";
      const none = await refusal(api.request(method, path));
      expect({ method, type: none.type, message: none.message }).toEqual({
        method,
        type: "DeviceLeased",
        message: expect.stringMatching(/\(send its lease id as X-Lease-Id\)$/),
      });
      const other = await refusal(api.request(method, path, undefined, { leaseId: "not-the-lease" }));
      expect(other.message).toEndWith("(the lease id sent is not its)");
    }
    await first.release();
    const second = await api.lease("d2", { ttl: 30, holder: "carol" });
    await second.release();
  });

  test("an expired lease releases itself; renewing keeps it past its first ttl", async () => {
    const ended = leaseEnded("d3");
    const short = await api.request<{ lease_id: string }>("POST", "/devices/d3/lease", { ttl_s: 0.3, holder: "brief" });
    expect((await refusal(api.callDeviceMethod("d3", "hello"))).type).toBe("DeviceLeased");
    await ended;
    expect((await api.getDevice("d3")).lease).toBeNull();
    expect(await api.callDeviceMethod("d3", "hello")).toBe("Hello from d3");
    expect((await refusal(api.request("POST", "/devices/d3/lease/renew", {}, { leaseId: short.lease_id }))).type).toBe(
      "LeaseNotFound",
    );

    // Renewed by the client every 100 ms: alive well past 0.3 s, until released.
    const renewing = await api.lease("d3", { ttl: 0.3 });
    const firstExpiry = renewing.expiresAt;
    await new Promise<void>((r) => {
      const off = lab.daemon.on("device", (e) => {
        if (e.deviceId === "d3" && e.kind === "lease_renewed" && renewing.expiresAt > firstExpiry) off(), r();
      });
    });
    // Past the first expiry by the clock, and still held.
    while (Date.now() <= Date.parse(firstExpiry) + 50) await new Promise((r) => setTimeout(r, 50));
    expect((await api.getDevice("d3")).lease).not.toBeNull();
    expect((await refusal(api.callDeviceMethod("d3", "hello"))).type).toBe("DeviceLeased");
    await renewing.release();
    expect(renewing.active).toBe(false);
  });

  test("await using releases the lease at the end of the scope", async () => {
    {
      await using lease = await api.lease("d4", { ttl: 30 });
      expect((await api.getDevice("d4")).lease).not.toBeNull();
      expect(lease.active).toBe(true);
    }
    expect((await api.getDevice("d4")).lease).toBeNull();
  });

  test("bad input: ttl out of range, wrong types, unknown device, hostile names; nothing changes", async () => {
    for (const body of [
      { ttl_s: 0 },
      { ttl_s: -1 },
      { ttl_s: 86401 },
      { ttl_s: "60" },
      {},
      { ttl_s: 10, holder: 5 },
      [1],
    ]) {
      const e = await refusal(api.request("POST", "/devices/d4/lease", body));
      expect({ body, status: e.status }).toEqual({ body, status: 422 });
    }
    expect((await refusal(api.request("POST", "/devices/d4/lease", { ttl_s: 10, holder: "" }))).status).toBe(400);
    expect((await refusal(api.request("POST", "/devices/__proto__/lease", { ttl_s: 10 }))).status).toBe(404);
    expect((await refusal(api.request("POST", "/devices/constructor/lease", { ttl_s: 10 }))).status).toBe(404);
    expect((await refusal(api.request("DELETE", "/devices/d4/lease?force=maybe"))).status).toBe(400);
    expect((await api.getDevice("d4")).lease).toBeNull();
  });
});

describe("forced release", () => {
  test("without a server token force is refused (403): there is no administrator", async () => {
    const lease = await api.lease("d2", { ttl: 30, holder: "dave" });
    expect((await refusal(api.request("DELETE", "/devices/d2/lease?force=true"))).status).toBe(403);
    await lease.release();
  });

  test("with the server's token, force ends another's lease; it is visible in the device's state and the holder's client hears it", async () => {
    const admin = await startServer({ token: "admin-secret" });
    try {
      const a = new ServerAPI(admin.url, { token: "admin-secret" });
      await admin.daemon.connectDevice(admin.daemon.addDevice("x", "MockDevice", {}));
      let lost: Error | null = null;
      const lease = await a.lease("x", { ttl: 0.6, holder: "erin", onLost: (e) => (lost = e) });
      const released = await a.request<{ status: string; holder: string }>("DELETE", "/devices/x/lease?force=true");
      expect(released).toMatchObject({ status: "force_released", holder: "erin" });
      const state = await a.getDevice("x");
      expect(state.lease).toBeNull();
      expect(state.last_forced_release).toMatchObject({ holder: "erin", by: expect.stringContaining("administrator") });
      expect(await a.callDeviceMethod("x", "hello")).toBe("Hello from x");
      while (lease.active) await new Promise((r) => setTimeout(r, 50));
      expect((lost as ServerAPIError | null)?.status).toBe(404);
    } finally {
      await admin.stop();
    }
  });
});

describe("many clients at once", () => {
  test("acquire / renew / release races never show two holders, and no command without the lease runs while one is held", async () => {
    // Every event on a test-wide clock, so overlaps can be judged from the outside.
    let clock = 0;
    const holds: { client: number; from: number; to: number }[] = [];
    const slipped: string[] = [];
    const clients = Array.from({ length: 8 }, () => new ServerAPI(lab.url));
    await Promise.all(
      clients.map(async (c, i) => {
        for (let round = 0; round < 40; round++) {
          if ((i + round) % 3 === 0) {
            // A command without a lease: fine only if no lease was held the whole time it was in flight.
            const sent = ++clock;
            const ok = await c.callDeviceMethod("race", "increment").then(
              () => true,
              (e: ServerAPIError) => {
                if (e.type !== "DeviceLeased") throw e;
                return false;
              },
            );
            const answered = ++clock;
            if (ok && holds.some((h) => h.from < sent && h.to > answered)) slipped.push(`client ${i} round ${round}`);
            continue;
          }
          let lease;
          try {
            lease = await c.lease("race", { ttl: 5, holder: `c${i}` });
          } catch (e) {
            if ((e as ServerAPIError).type !== "DeviceLeased") throw e;
            continue;
          }
          const from = ++clock;
          await c.callDeviceMethod("race", "increment", [], undefined, lease.options);
          if (round % 2 === 0) await lease.renew();
          const to = ++clock;
          holds.push({ client: i, from, to });
          await lease.release();
        }
      }),
    );
    expect(holds.length).toBeGreaterThan(3);
    const sorted = [...holds].sort((a, b) => a.from - b.from);
    for (let k = 1; k < sorted.length; k++) expect(sorted[k]!.from).toBeGreaterThan(sorted[k - 1]!.to);
    expect(slipped).toEqual([]);
    expect((await api.getDevice("race")).lease).toBeNull();
  }, 60_000);
});

describe("lease edge cases", () => {
  test("a body-less renew keeps the lease's own ttl, whoever granted it (in-process too)", async () => {
    const l = lab.daemon.leases.acquire("d4", 20_000, "script");
    const r = await api.request<{ ttl_s: number; expires_at: string }>("POST", "/devices/d4/lease/renew", undefined, {
      leaseId: l.leaseId,
    });
    expect(r.ttl_s).toBe(20);
    lab.daemon.leases.release("d4", l.leaseId);
  });

  test("releasing a lease that was forced open and taken by someone else is quiet, and no loss is reported for it", async () => {
    const admin = await startServer({ token: "t0k" });
    try {
      const a = new ServerAPI(admin.url, { token: "t0k" });
      await admin.daemon.connectDevice(admin.daemon.addDevice("y", "MockDevice", {}));
      let lost = 0;
      const mine = await a.lease("y", { ttl: 60, onLost: () => lost++ });
      await a.request("DELETE", "/devices/y/lease?force=true");
      const theirs = admin.daemon.leases.acquire("y", 60_000, "someone else");
      await mine.release(); // 409 from the server, swallowed: it was not ours any more
      expect(mine.active).toBe(false);
      expect(lost).toBe(0);
      expect((await a.getDevice("y")).lease?.holder).toBe("someone else");
      admin.daemon.leases.release("y", theirs.leaseId);
    } finally {
      await admin.stop();
    }
  });
});

test("starting a leased device's stream needs the lease (X-Lease-Id or ?lease_id= for EventSource); joining a running one is a read", async () => {
  lab.daemon.addDevice("st", "StreamingDevice", { sampleInterval: 5 });
  await lab.daemon.connectDevice("st");
  const lease = await api.lease("st", { ttl: 30 });
  const refused = await fetch(`${lab.url}/stream/devices/st`);
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("DeviceLeased");
  const ctl = new AbortController();
  const opened = await fetch(`${lab.url}/stream/devices/st?lease_id=${lease.leaseId}`, { signal: ctl.signal });
  expect(opened.status).toBe(200);
  await opened.body!.getReader().read(); // the first bytes: the device streams now
  expect(lab.daemon.deviceState("st").streaming).toBe(true);
  const ctl2 = new AbortController();
  const joined = await fetch(`${lab.url}/stream/devices/st`, { signal: ctl2.signal });
  expect(joined.status).toBe(200);
  ctl.abort();
  ctl2.abort();
  await lab.daemon.stopStreaming("st");
  await lease.release();
});
