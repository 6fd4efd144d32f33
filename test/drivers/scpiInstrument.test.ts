import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ScpiInstrument } from "../../drivers/scpiInstrument.ts";
import { serveSimulators, type RunningSimulators } from "../../drivers/sim/scpi/index.ts";
import {
  DeviceConfigurationError,
  DeviceConnectionError,
  DeviceNotConnectedError,
  LabDaemon,
} from "../../src/index.ts";
import { dmm } from "../support/simDevices.ts";

let sims: RunningSimulators;
let resource: string;

beforeAll(async () => {
  // The shared simulated DMM plus *CLS, which every SCPI instrument knows and clear() sends.
  const withCls = { ...dmm, dialogues: [...(dmm.dialogues ?? []), { q: "*CLS" }] };
  sims = await serveSimulators({ devices: { dmm: withCls }, resources: [{ device: "dmm", socket: { port: 0 } }] });
  resource = sims.resources[0]!.resource;
});
afterAll(() => sims.close());

describe("ScpiInstrument over a simulated socket instrument", () => {
  test("idn, write and query through the daemon's proxy", async () => {
    const daemon = new LabDaemon();
    daemon.registerPlugins({ devices: { ScpiInstrument } });
    const dev = daemon.addDevice<ScpiInstrument>("dmm1", "ScpiInstrument", { resource, timeoutMs: 1000 });
    await daemon.connectDevice("dmm1");
    expect(await dev.idn()).toBe("LabDaemon,SimDMM,0001,1.0");
    await dev.write("VOLT 2.5");
    expect(await dev.query("VOLT?")).toBe("2.500");
    expect(await daemon.call("dmm1", "query", ["VOLT?"])).toBe("2.500");
    await daemon.shutdown();
  });

  test("queryBinary decodes IEEE 488.2 blocks in the datatype and byte order asked for", async () => {
    const dev = new ScpiInstrument("dmm2", { resource });
    await dev.connect();
    expect(Array.from(await dev.queryBinary("WAV:F64?", "float64"))).toEqual([0.5, -1.25, 1e-9, 3e12]);
    expect(Array.from(await dev.queryBinary("WAV:I16?", "int16", true))).toEqual([-3, -2, -1, 0, 1, 2, 3, 32767]);
    expect(Array.from(await dev.queryBinary("CURV:BE?", "float32", true))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await dev.disconnect();
  });

  test("errors() drains SYST:ERR? until '0,' and reset and clear are commands the instrument accepts", async () => {
    const dev = new ScpiInstrument("dmm3", { resource });
    await dev.connect();
    await dev.write("BOGUS");
    await dev.write("VOLT 99");
    const errs = await dev.errors();
    expect(errs).toEqual(['-113,"Undefined header"', '-222,"Data out of range"']);
    expect(await dev.errors()).toEqual([]);
    await dev.reset();
    await dev.clear();
    expect(await dev.errors()).toEqual([]);
    await dev.disconnect();
  });

  test("a missing resource is a configuration error; calls before connect say so; a dead address fails to connect", async () => {
    expect(() => new ScpiInstrument("x", {} as never)).toThrow(DeviceConfigurationError);
    const dev = new ScpiInstrument("y", { resource: "TCPIP0::127.0.0.1::1::SOCKET", timeoutMs: 500 });
    expect(dev.idn()).rejects.toBeInstanceOf(DeviceNotConnectedError);
    expect(dev.connect()).rejects.toBeInstanceOf(DeviceConnectionError);
  });

  test("every public method has typebox metadata", () => {
    const dev = new ScpiInstrument("z", { resource });
    const methods = Object.getOwnPropertyNames(ScpiInstrument.prototype).filter(
      (m) => m !== "constructor" && !["connect", "disconnect", "isConnected", "attachServiceRequests"].includes(m),
    );
    expect(methods.sort()).toEqual(Object.keys(ScpiInstrument.methods).sort());
    expect(dev.isConnected()).toBe(false);
  });
});
