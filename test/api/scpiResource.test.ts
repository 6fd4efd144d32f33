// POST /devices with a ScpiInstrument: a resource string that cannot be parsed is refused when the
// device is added (400 naming the wrong part), not first when it connects.
import { afterEach, expect, test } from "bun:test";
import { ScpiInstrument } from "../../drivers/scpiInstrument.ts";
import { isEnvelope, startTestServer, type TestServer } from "../support/apiServer.ts";

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const add = (id: string, resource: string) =>
  s!.req("POST", "/devices", { device_id: id, device_type: "ScpiInstrument", params: { resource } });

test("an unparsable resource string is a 400 naming the problem, and no device is added", async () => {
  s = await startTestServer();
  s.daemon.registerPlugins({ devices: { ScpiInstrument } });
  for (const [resource, problem] of [
    ["TCPIP0::bad::xx::yy::zz", "too many parts"],
    ["GPIB0::99::INSTR", "out of range"],
    ["nonsense", "unknown interface type"],
  ]) {
    const r = await add("scope", resource!);
    expect({ resource, status: r.status }).toEqual({ resource, status: 400 });
    expect(isEnvelope(r.body)).toBe(true);
    expect(r.body.error.type).toBe("DeviceCreationError");
    expect(r.body.error.message).toContain(resource!);
    expect(r.body.error.message).toContain(problem!);
  }
  expect((await s.req("GET", "/devices")).body.devices).toEqual([]);
});

test("valid resource strings of each interface are still added, unconnected", async () => {
  s = await startTestServer();
  s.daemon.registerPlugins({ devices: { ScpiInstrument } });
  const resources = [
    "TCPIP0::127.0.0.1::5025::SOCKET",
    "TCPIP::127.0.0.1::INSTR",
    "ASRL/dev/ttyS0::INSTR",
    "GPIB0::5::INSTR",
  ];
  for (const [i, resource] of resources.entries()) {
    const r = await add(`dev${i}`, resource);
    expect({ resource, status: r.status }).toEqual({ resource, status: 200 });
    expect(r.body.connected).toBe(false);
  }
});
