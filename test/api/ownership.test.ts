// Property test: many concurrent POST /tasks with random overlapping device sets never give a device two
// owners, every 409 names a real current owner, and every claim is released when the tasks end.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { seededRandom as rng, startTestServer, type TestServer } from "../support/apiServer.ts";
import { ExclusiveTask, until } from "../support/fixtures.ts";
import { Ownership } from "../../src/core/ownership.ts";

let s: TestServer;
const DEVICES = Array.from({ length: 8 }, (_, i) => `dev${i}`);

beforeAll(async () => {
  s = await startTestServer({ logLevel: "silent", completedTaskBuffer: 1000 });
  for (const id of DEVICES) await s.req("POST", "/devices", { device_id: id, device_type: "MockDevice" });
});
afterAll(async () => {
  await s.close();
});

test("hundreds of concurrent POST /tasks never give a device two owners and all claims are released", async () => {
  ExclusiveTask.occupancy.clear();
  ExclusiveTask.violations.length = 0;
  const seed = 20261125;
  const rand = rng(seed);
  const N = 400;
  const requests = Array.from({ length: N }, (_, i) => {
    const ids = DEVICES.filter(() => rand() < 0.3);
    const ms = Math.floor(rand() * 15);
    return { id: `t${i}`, ids, ms };
  });
  const results = await Promise.all(
    requests.map(async (r) => {
      const res = await s.req("POST", "/tasks", {
        task_id: r.id,
        task_type: "ExclusiveTask",
        params: { device_ids: r.ids, ms: r.ms },
      });
      return { ...r, res };
    }),
  );
  const started = results.filter((r) => r.res.status === 200);
  const refused = results.filter((r) => r.res.status === 409);
  expect(started.length + refused.length).toBe(N);
  expect(started.length).toBeGreaterThan(10);
  expect(refused.length).toBeGreaterThan(10);
  for (const r of refused) {
    expect(r.res.body.error.type).toBe("DeviceInUse");
    for (const c of r.res.body.error.context.conflicts) {
      expect(r.ids).toContain(c.device_id);
      expect(c.task_id).not.toBe(r.id);
    }
    expect(s.daemon.hasTask(r.id)).toBe(false);
  }
  for (const r of started) expect(r.res.body.device_ids).toEqual(r.ids);
  await Promise.all(started.map((r) => s.daemon.getTask(r.id).wait({ timeoutMs: 10_000 })));
  await until(() => s.server.ownership.size === 0, 2000, "all claims released");
  expect(ExclusiveTask.violations).toEqual([]);
  const list = await s.req("GET", "/devices");
  expect(list.body.devices.every((d: any) => d.owned_by === null)).toBe(true);
});

test("Ownership.claim is all-or-nothing, re-release is harmless, and a stale claim never frees a newer one", () => {
  const o = new Ownership();
  const a = o.claim("task1", "T", ["dev1", "dev2"]);
  expect(o.ownerOf("dev1")).toBe("task1");
  expect(() => o.claim("task2", "T", ["dev3", "dev1"])).toThrow("already owned");
  expect(o.ownerOf("dev3")).toBeNull();
  o.release(a);
  o.release(a);
  expect(o.size).toBe(0);
  const b = o.claim("task1", "T", ["dev1"]);
  o.release(a);
  expect(o.ownerOf("dev1")).toBe("task1");
  o.release(b);
  expect(o.ownerOf("dev1")).toBeNull();
});
