import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager } from "../../src/io/index.ts";
import {
  serveSimulators,
  SimDefinitionError,
  SimulatedInstrument,
  formatValue,
  loadDefinition,
} from "../../drivers/sim/scpi/index.ts";
import { MAX_PENDING_BYTES, SocketSimServer } from "../../drivers/sim/scpi/socketServer.ts";

const dir = mkdtempSync(`${tmpdir()}/ld-sim-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("serveSimulators", () => {
  test("a YAML definition is served over a socket, VXI-11 and a pty, one state per device", async () => {
    const file = `${dir}/lab.yaml`;
    writeFileSync(
      file,
      `devices:
  psu:
    eom: { q: "\\r\\n", r: "\\r\\n" }
    dialogues:
      - { q: "*IDN?", r: "Sim,PSU,7,1.0" }
    properties:
      current:
        default: 0.5
        getter: { q: "CURR?", r: "{:.2f}" }
        setter: { q: "CURR {}", e: "ERR RANGE" }
        specs: { min: 0, max: 3, type: float }
resources:
  - { device: psu, socket: { port: 0 } }
  - { device: psu, vxi11: { name: psu0 } }
  - { device: psu, serial: { link: ${dir}/psu } }
`,
    );
    const sims = await serveSimulators(file);
    const rm = new ResourceManager();
    try {
      expect(sims.resources.map((r) => r.kind)).toEqual(["socket", "vxi11", "serial"]);
      const opts = { readTermination: "\r\n", writeTermination: "\r\n" };
      const [sock, vxi, ser] = await Promise.all(sims.resources.map((r) => rm.open(r.resource, opts)));
      expect(await sock!.query("*IDN?")).toBe("Sim,PSU,7,1.0");
      await sock!.write("CURR 1.25");
      // The three links reach one instrument: a setting made over one is seen over the others.
      expect(await vxi!.query("CURR?")).toBe("1.25");
      expect(await ser!.query("CURR?")).toBe("1.25");
      expect(await ser!.query("CURR 9")).toBe("ERR RANGE");
      expect(sims.instruments.get("psu")!.property("current")).toBe(1.25);
    } finally {
      await rm.close();
      await sims.close();
    }
  });

  test("the bundled example definition loads", () => {
    const def = loadDefinition(`${import.meta.dir}/../../drivers/sim/scpi/example.yaml`);
    expect(Object.keys(def.devices)).toEqual(["dmm", "laser"]);
  });

  test("definition errors name the path of the bad entry", async () => {
    const bad = `${dir}/bad.json`;
    writeFileSync(bad, JSON.stringify({ devices: { a: { blocks: [{ q: "X?", datatype: "float16" }] } } }));
    await expect(serveSimulators(bad)).rejects.toThrow(SimDefinitionError);
    await expect(serveSimulators(bad)).rejects.toThrow("devices.a.blocks[0].datatype: unknown 'float16'");
    await expect(serveSimulators({ devices: { a: {} }, resources: [{ device: "b", socket: {} }] })).rejects.toThrow(
      "no device 'b'",
    );
    await expect(
      serveSimulators({ devices: { a: {} }, resources: [{ device: "toString", socket: {} }] }),
    ).rejects.toThrow("no device 'toString'");
  });

  test("definition file errors point at file:line:column, syntax errors included", async () => {
    const yaml = `${dir}/bad.yaml`;
    writeFileSync(
      yaml,
      "devices:\n  a:\n    blocks:\n      - { q: X?, datatype: float16 }\nresources:\n  - { device: b, socket: {} }\n",
    );
    await expect(serveSimulators(yaml)).rejects.toThrow(
      `${yaml}:4:18: devices.a.blocks[0].datatype: unknown 'float16'`,
    );
    const json = `${dir}/syntax.json`;
    writeFileSync(json, '{\n  "devices": { "a": {} },\n}\n');
    const err = await serveSimulators(json).catch((e) => e);
    expect(err).toBeInstanceOf(SimDefinitionError);
    expect(err.message).toBe(`${json}:3:1: invalid JSON: trailing comma before '}'`);
    const res = `${dir}/res.json`;
    writeFileSync(res, '{\n  "devices": { "a": {} },\n  "resources": [\n    { "device": "b", "socket": {} }\n  ]\n}\n');
    await expect(serveSimulators(res)).rejects.toThrow(`${res}:4:7: resources[0].device: no device 'b'`);
  });

  test("instrument semantics: case-insensitive commands, error queue, unknown queries, formats", () => {
    const inst = new SimulatedInstrument({
      error: "ERROR",
      dialogues: [{ q: "*IDN?", r: "X" }],
      properties: {
        f: { default: 1, getter: { q: "F?", r: "{:.2e}" }, setter: { q: "F {}" }, specs: { valid: [1, 2] } },
      },
    });
    const text = (m: string) => {
      const r = inst.handle(m);
      return r.kind === "data" ? Buffer.from(r.bytes).toString() : r.kind;
    };
    expect(text("*idn?")).toBe("X\n");
    expect(text("F 3")).toBe("none");
    expect(text("SYST:ERR?")).toBe('-222,"Data out of range"\n');
    expect(text("NOPE?")).toBe("ERROR\n");
    expect(text("SYST:ERR?")).toBe('-113,"Undefined header"\n');
    expect(text("SYST:ERR?")).toBe('0,"No error"\n');
    expect(text("F 2")).toBe("none");
    expect(text("F?")).toBe("2.00e+00\n");
    expect(formatValue("{:d} {} {:.1f}", 2.6)).toBe("3 2.6 2.6");
  });
});

describe("SocketSimServer", () => {
  test("a client that never sends the message terminator is dropped once it passes the buffer bound", async () => {
    const sim = new SocketSimServer(new SimulatedInstrument({ dialogues: [{ q: "*IDN?", r: "Sim" }] }));
    try {
      const closed = Promise.withResolvers<void>();
      const socket = await Bun.connect({
        hostname: "127.0.0.1",
        port: sim.port,
        socket: { data() {}, close: () => closed.resolve(), error: () => closed.resolve() },
      });
      const chunk = Buffer.alloc(64 * 1024, "x");
      let sent = 0;
      const pump = setInterval(() => {
        if (sent <= 4 * MAX_PENDING_BYTES) sent += Math.max(0, socket.write(chunk));
      }, 1);
      const outcome = await Promise.race([
        closed.promise.then(() => "closed"),
        Bun.sleep(20_000).then(() => "still open"),
      ]);
      clearInterval(pump);
      socket.end();
      expect(outcome).toBe("closed");
    } finally {
      sim.close();
    }
  });
});
