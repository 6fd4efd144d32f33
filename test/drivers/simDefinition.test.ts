// Hostile and malformed simulator definitions: each is refused with file:line:column (or the byte
// offset), never a crash, a hang or a runaway allocation.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ResourceManager } from "../../src/io/index.ts";
import {
  SimDefinitionError,
  SimulatedInstrument,
  loadDefinition,
  serveSimulators,
  servePty,
  validateDefinition,
} from "../../drivers/sim/scpi/index.ts";
import { MAX_DIALOGUES } from "../../drivers/sim/scpi/definition.ts";
import { matchSetter } from "../../drivers/sim/scpi/instrument.ts";
import { splitMessages } from "../../drivers/sim/scpi/messages.ts";
import { MAX_DATA_FILE_BYTES, parseDataFile } from "../../src/files/dataFile.ts";
import { MAX_JSON_DEPTH, findJsonSyntaxError } from "../../src/files/jsonSyntax.ts";

const dir = mkdtempSync(`${tmpdir()}/ld-simdef-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refuse = (message: string) => new SimDefinitionError(message);

/** The error `loadDefinition` throws for a file holding `text` (or bytes). */
function loadError(name: string, content: string | Uint8Array): SimDefinitionError {
  const file = `${dir}/${name}`;
  writeFileSync(file, content);
  try {
    loadDefinition(file);
  } catch (e) {
    expect(e).toBeInstanceOf(SimDefinitionError);
    return e as SimDefinitionError;
  }
  throw new Error(`${name} was accepted`);
}

describe("data files", () => {
  test("a YAML alias bomb is a data-file error at the first alias, not a ReferenceError", () => {
    const levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (const [prev, name] of [
      ["a", "b"],
      ["b", "c"],
      ["c", "d"],
      ["d", "e"],
      ["e", "f"],
      ["f", "g"],
    ]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const err = loadError("bomb.yaml", `${levels.join("\n")}\n`);
    expect(err.message).toStartWith(`${dir}/bomb.yaml:2:8: invalid YAML: aliases expand too far`);
  });

  test("JSON nested deeper than the limit is a syntax error with its position, not a stack overflow", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(findJsonSyntaxError(deep)).toEqual({
      offset: MAX_JSON_DEPTH,
      message: `nested more than ${MAX_JSON_DEPTH} levels deep`,
    });
    expect(() => parseDataFile("deep.json", deep, refuse)).toThrow(
      `deep.json:1:${MAX_JSON_DEPTH + 1}: invalid JSON: nested more than`,
    );
    const fine = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    expect(findJsonSyntaxError(fine)).toBeNull();
  });

  test("a definition that is not UTF-8 is refused with the byte offset of the first bad byte", () => {
    const bytes = Buffer.concat([Buffer.from("devices:\n  caf"), Buffer.from([0xe9]), Buffer.from(": {}\n")]);
    expect(loadError("latin1.yaml", bytes).message).toBe(
      `${dir}/latin1.yaml: not UTF-8: invalid byte sequence at byte offset 14`,
    );
  });

  test("a definition file over the size cap is refused before parsing", () => {
    const big = Buffer.alloc(MAX_DATA_FILE_BYTES + 1, 0x20);
    expect(loadError("big.yaml", big).message).toContain(`is too big for a data file (at most ${MAX_DATA_FILE_BYTES})`);
  });
});

/** The message validateDefinition refuses `device` (one device `d`, plus `extra` top-level keys) with. */
function deviceError(device: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  try {
    validateDefinition({ devices: { d: device }, ...extra });
  } catch (e) {
    expect(e).toBeInstanceOf(SimDefinitionError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(device)}`);
}

describe("definition shapes", () => {
  test("an empty or non-string terminator is refused at its file:line:column; the splitter refuses one too", () => {
    const err = loadError("eom.yaml", 'devices:\n  d:\n    eom: { q: "", r: "\\n" }\n');
    expect(err.message).toBe(`${dir}/eom.yaml:3:12: devices.d.eom.q: must be a non-empty string`);
    expect(deviceError({ eom: { r: "" } })).toBe("definition: devices.d.eom.r: must be a non-empty string");
    expect(deviceError({ eom: { q: 10 } })).toBe("definition: devices.d.eom.q: must be a non-empty string");
    expect(deviceError({ eom: "\n" })).toContain("devices.d.eom: must be a map");
    expect(() => new SimulatedInstrument({ eom: { q: "" } })).toThrow(RangeError);
    expect(() => splitMessages("*IDN?", "")).toThrow(RangeError);
    expect(splitMessages("A\nB\nC", "\n")).toEqual({ messages: ["A", "B"], rest: "C" });
  });

  test("lists and maps of the wrong shape are refused, not a TypeError", () => {
    expect(deviceError({ dialogues: { q: "*IDN?" } })).toBe("definition: devices.d.dialogues: must be a list");
    expect(deviceError({ properties: [] })).toBe("definition: devices.d.properties: must be a map");
    expect(deviceError({ blocks: "CURV?" })).toBe("definition: devices.d.blocks: must be a list");
    expect(deviceError({ silent: "HANG?" })).toBe("definition: devices.d.silent: must be a list");
    expect(deviceError({ drop: [1] })).toBe("definition: devices.d.drop[0]: must be a string");
    expect(deviceError({ dialogues: [{ q: "A?", r: 5 }] })).toBe(
      "definition: devices.d.dialogues[0].r: must be a string",
    );
    expect(deviceError({}, { resources: { device: "d", socket: {} } })).toBe("definition: resources: must be a list");
    expect(deviceError({}, { resources: [{ device: "d", socket: 5025 }] })).toBe(
      "definition: resources[0].socket: must be a map",
    );
  });

  test("a key the format does not have is refused at its file:line:column, with the keys known there", () => {
    const err = loadError(
      "typo.yaml",
      'devices:\n  d:\n    dialogues:\n      - { q: "*IDN?", respones: "X" }\nresources:\n  - { device: d, socket: {} }\n',
    );
    expect(err.message).toBe(`${dir}/typo.yaml:4:23: devices.d.dialogues[0].respones: unknown key (known: q, r)`);
    expect(deviceError({ dialogs: [] })).toBe(
      "definition: devices.d.dialogs: unknown key (known: eom, error, dialogues, properties, blocks, silent, drop, operations)",
    );
    expect(deviceError({ properties: { v: { default: 1, spec: { min: 0 } } } })).toBe(
      "definition: devices.d.properties.v.spec: unknown key (known: default, getter, setter, specs)",
    );
    expect(deviceError({ properties: { v: { default: 1, specs: { minimum: 0 } } } })).toContain(
      "devices.d.properties.v.specs.minimum: unknown key",
    );
    expect(deviceError({ blocks: [{ q: "CURV?", dtype: "int8" }] })).toContain(
      "devices.d.blocks[0].dtype: unknown key",
    );
    expect(deviceError({ operations: [{ q: "INIT", msec: 5 }] })).toContain("operations[0].msec: unknown key");
    expect(deviceError({}, { resource: [] })).toBe("definition: resource: unknown key (known: devices, resources)");
    expect(deviceError({}, { resources: [{ device: "d", socket: { prot: 5025 } }] })).toBe(
      "definition: resources[0].socket.prot: unknown key (known: port, host)",
    );
    expect(deviceError({}, { resources: [{ device: "d", tcp: { port: 5025 } }] })).toContain(
      "resources[0].tcp: unknown key (known: device, socket, vxi11, hislip, serial)",
    );
  });

  test("a definition that serves nothing (no resources, or an empty list) is refused", () => {
    const none = "definition: resources: must list at least one resource to serve (socket, vxi11, hislip or serial)";
    expect(deviceError({})).toBe(none);
    expect(deviceError({}, { resources: [] })).toBe(none);
    expect(
      loadError("none.yaml", 'devices:\n  d:\n    dialogues: [{ q: "*IDN?", r: "D" }]\nresources: []\n').message,
    ).toBe(`${dir}/none.yaml:4:1: ${none.replace("definition: ", "")}`);
  });

  test("two resources with one VXI-11 name (inst0 when left out), or one serial link, are refused at the second", () => {
    const vxi11 = (...names: Array<string | undefined>) =>
      deviceError({}, { resources: names.map((name) => ({ device: "d", vxi11: name === undefined ? {} : { name } })) });
    expect(vxi11("inst0", "inst1", "inst1")).toBe(
      "definition: resources[2].vxi11.name: VXI-11 name 'inst1' is already served by resources[1]; each must be unique",
    );
    expect(vxi11("inst0", undefined)).toBe(
      "definition: resources[1].vxi11: VXI-11 name 'inst0' is already served by resources[0]; each must be unique",
    );
    const err = loadError(
      "twice.yaml",
      "devices:\n  a: {}\n  b: {}\nresources:\n  - { device: a, vxi11: { name: inst0 } }\n  - { device: b, vxi11: { name: inst0 } }\n",
    );
    expect(err.message).toBe(
      `${dir}/twice.yaml:6:27: resources[1].vxi11.name: VXI-11 name 'inst0' is already served by resources[0]; each must be unique`,
    );
    const link = `${dir}/tty`;
    expect(
      deviceError(
        {},
        {
          resources: [
            { device: "d", serial: { link } },
            { device: "d", serial: { link } },
          ],
        },
      ),
    ).toBe(`definition: resources[1].serial.link: '${link}' is already the link of resources[0]; each must be unique`);
  });

  test("more dialogues than the cap is refused with the count", () => {
    const dialogues = Array.from({ length: MAX_DIALOGUES + 1 }, (_, i) => ({ q: `Q${i}?`, r: "x" }));
    expect(deviceError({ dialogues })).toBe(
      `definition: devices.d.dialogues: ${MAX_DIALOGUES + 1} dialogues, at most ${MAX_DIALOGUES}`,
    );
  });

  test("a socket port outside 0..65535 or not a whole number is refused", () => {
    for (const port of [65536, -1, "abc", 1.5]) {
      expect(deviceError({}, { resources: [{ device: "d", socket: { port } }] })).toBe(
        "definition: resources[0].socket.port: must be a whole number from 0 to 65535 (0: any free port)",
      );
    }
  });

  test("block lengths: negative, fractional, over 64 MiB of data or naming a missing property are refused", () => {
    for (const length of [-5, 1e12, 2.5, 2e8]) {
      expect(deviceError({ blocks: [{ q: "CURV?", datatype: "float64", length }] })).toContain(
        "devices.d.blocks[0].length: must be a whole number from 0 to 8388608",
      );
    }
    expect(deviceError({ blocks: [{ q: "CURV?", length: "points" }] })).toBe(
      "definition: devices.d.blocks[0].length: no property 'points'",
    );
    expect(
      deviceError({ properties: { points: { default: "many" } }, blocks: [{ q: "CURV?", length: "points" }] }),
    ).toContain("must have a numeric default");
    expect(deviceError({ blocks: [{ q: "CURV?", values: [] }] })).toBe(
      "definition: devices.d.blocks[0].values: must not be an empty list",
    );
    expect(deviceError({ blocks: [{ q: "CURV?", values: "square" }] })).toContain("values: unknown 'square'");
    expect(
      validateDefinition({
        devices: { d: { blocks: [{ q: "CURV?", datatype: "uint8", length: 64 << 20 }] } },
        resources: [{ device: "d", socket: {} }],
      }),
    ).toBeDefined();
  });

  test("getter formats the simulator cannot write, min above max and too many setter placeholders are refused", () => {
    const prop = (p: Record<string, unknown>) => deviceError({ properties: { v: { default: 1.5, ...p } } });
    expect(prop({ getter: { q: "V?", r: "{:.999f}" } })).toBe(
      "definition: devices.d.properties.v.getter.r: '{:.999f}': at most 100 digits",
    );
    expect(prop({ getter: { q: "V?", r: "{:x}" } })).toContain("getter.r: unsupported format '{:x}'");
    expect(prop({ specs: { min: 10, max: 1 } })).toBe(
      "definition: devices.d.properties.v.specs.min: min 10 is above max 1: no value would be accepted",
    );
    expect(prop({ specs: { type: "double" } })).toContain("specs.type: unknown 'double'");
    expect(prop({ setter: { q: Array(20).fill("{}").join(",") } })).toBe(
      "definition: devices.d.properties.v.setter.q: 20 placeholders, at most 16",
    );
    expect(prop({ default: null })).toBe("definition: devices.d.properties.v.default: must be a number or a string");
  });

  test("a serial link with socat syntax in it is refused", () => {
    for (const link of ["/tmp/a,b", "/tmp/a!!b", "/tmp/a:b", "/tmp/a b", ""]) {
      expect(deviceError({}, { resources: [{ device: "d", serial: { link } }] })).toContain(
        "resources[0].serial.link: must",
      );
    }
  });

  test("a serial link at an existing file is refused and the file is left alone", async () => {
    const file = `${dir}/precious`;
    writeFileSync(file, "keep me");
    const err = await servePty(new SimulatedInstrument({}), file).catch((e) => e);
    expect(err).toBeInstanceOf(SimDefinitionError);
    expect(err.message).toBe(`serial link "${file}": a file already exists there; choose another path`);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });
});

describe("answering hostile messages", () => {
  test("a setter with many adjacent placeholders matches in linear time on a near miss", () => {
    // Sixteen placeholders with nothing between them: a lazy-group regex tries every split of the text.
    const q = `{} ${"{}".repeat(15)}Z`;
    const inst = new SimulatedInstrument({
      properties: { v: { default: "", setter: { q, r: "OK" }, specs: { type: "str" } } },
    });
    const started = performance.now();
    expect(inst.handle(`a ${"x".repeat(34)}`)).toEqual({ kind: "none" });
    expect(inst.handle(`a ${"x".repeat(100_000)}`)).toEqual({ kind: "none" });
    // Backtracking through every split of 100,000 characters into 16 parts would not end in a lifetime.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(inst.handle(`a ${"x".repeat(15)}z`)).toEqual({ kind: "data", bytes: Buffer.from("OK\n") });
    expect(inst.property("v")).toBe("a");
  });

  test("matchSetter gives the first placeholder its shortest value and needs one character per placeholder", () => {
    expect(matchSetter(["VOLT ", ""], "volt 1.5")).toBe("1.5");
    expect(matchSetter(["SET ", ",", ""], "SET a,b,c")).toBe("a");
    expect(matchSetter(["SET ", ",", ""], "SET a,")).toBeNull();
    expect(matchSetter(["", "", ""], "ab")).toBe("a");
    expect(matchSetter(["X", "Y"], "XY")).toBeNull();
    expect(matchSetter(["P ", ""], "P \u00df")).toBe("\u00df");
  });

  test("a message the definition cannot answer gets the error string and the simulator keeps serving", async () => {
    const sims = await serveSimulators({
      devices: {
        d: {
          error: "ERROR",
          dialogues: [{ q: "*IDN?", r: "Sim" }],
          properties: { points: { default: 4, setter: { q: "POIN {}" }, specs: { type: "int" } } },
          blocks: [{ q: "CURV?", datatype: "float64", length: "points" }],
        },
      },
      resources: [{ device: "d", socket: { port: 0 } }],
    });
    const rm = new ResourceManager();
    const logged: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const inst = await rm.open(sims.resources[0]!.resource, { readTermination: "\n", writeTermination: "\n" });
      await inst.write("POIN 1000000000000");
      expect(await inst.query("CURV?")).toBe("ERROR");
      expect(await inst.query("CURV?")).toBe("ERROR");
      expect(await inst.query("*IDN?")).toBe("Sim");
      expect(await inst.query("SYST:ERR?")).toBe('-300,"Device-specific error"');
      expect(logged).toHaveLength(1);
    } finally {
      console.error = consoleError;
      await rm.close();
      await sims.close();
    }
  });
});
