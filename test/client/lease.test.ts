// DeviceLease and the lease routes of ServerAPI against a real server: a release that failed on the way can
// be tried again, and the administrator can force a lease open.
import { afterEach, expect, test } from "bun:test";
import { ServerAPI, ServerAPIError, ServerConnectionError } from "../../src/client/index.ts";
import { startServer, type Running } from "./support.ts";

let srv: Running | null = null;
afterEach(async () => {
  await srv?.stop();
  srv = null;
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

test("a release that failed on the way (the network dropped) can be tried again, and then frees the device", async () => {
  srv = await startServer();
  await srv.daemon.connectDevice(srv.daemon.addDevice("d1", "MockDevice", {}));
  let dropNextDelete = false;
  const api = new ServerAPI(srv.url, {
    fetch: ((input: Request | string | URL, init?: RequestInit) => {
      if (dropNextDelete && init?.method === "DELETE") {
        dropNextDelete = false;
        return Promise.reject(new TypeError("network is unreachable"));
      }
      return fetch(input, init);
    }) as typeof fetch,
  });
  const lease = await api.lease("d1", { ttl: 30, holder: "alice" });
  dropNextDelete = true;
  const failed = await refusal(lease.release());
  expect(failed).toBeInstanceOf(ServerConnectionError);
  expect(lease.active).toBe(true);
  expect((await api.getDevice("d1")).lease?.holder).toBe("alice"); // still held on the server
  await lease.release();
  expect(lease.active).toBe(false);
  expect((await api.getDevice("d1")).lease).toBeNull();
  expect(await api.callDeviceMethod("d1", "hello")).toBeDefined(); // free for others without the lease
  await lease.release(); // idempotent once released
});

test("forceReleaseLease ends another's lease on a server with a token; without one it is refused (403)", async () => {
  srv = await startServer({ token: "admin" });
  await srv.daemon.connectDevice(srv.daemon.addDevice("d1", "MockDevice", {}));
  const alice = new ServerAPI(srv.url, { token: "admin" });
  let heard!: (e: Error) => void;
  const lost = new Promise<Error>((r) => (heard = r));
  const lease = await alice.lease("d1", { ttl: 0.3, holder: "alice", onLost: (e) => heard(e) });
  const admin = new ServerAPI(srv.url, { token: "admin" });
  expect(await admin.forceReleaseLease("d1")).toEqual({ status: "force_released", device_id: "d1", holder: "alice" });
  expect((await admin.getDevice("d1")).last_forced_release?.holder).toBe("alice");
  expect(await admin.forceReleaseLease("d1")).toEqual({ status: "not_leased", device_id: "d1", holder: null });
  expect(await admin.callDeviceMethod("d1", "hello")).toBeDefined();
  // The holder's client hears it at its next renewal (every 100 ms here).
  expect(((await lost) as ServerAPIError).status).toBe(404);
  expect(lease.active).toBe(false);
  await srv.stop();

  srv = await startServer();
  srv.daemon.addDevice("d2", "MockDevice", {});
  const open = new ServerAPI(srv.url);
  const held = await open.lease("d2", { ttl: 30 });
  const e = await refusal(open.forceReleaseLease("d2"));
  expect([e.status, e.type]).toEqual([403, "ForceNotAllowed"]);
  await held.release();
});
