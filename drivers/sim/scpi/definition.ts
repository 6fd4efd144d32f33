// The simulator's definition format (YAML or JSON), modelled on pyvisa-sim's:
//
//   devices:
//     dmm:
//       eom: { q: "\n", r: "\n" }            # how queries end, what answers end with
//       error: "ERROR"                        # answer to an unknown query (also queued for SYST:ERR?)
//       dialogues:
//         - { q: "*IDN?", r: "LabDaemon,SimDMM,0001,1.0" }
//         - { q: "*RST" }                     # a command: no answer
//       properties:
//         voltage:
//           default: 1.5
//           getter: { q: "VOLT?", r: "{:.3f}" }
//           setter: { q: "VOLT {}", e: "ERR RANGE" }   # e: answer when the value is refused
//           specs: { min: 0, max: 10, type: float }    # type: float | int | str; or valid: [..]
//       blocks:                                # IEEE 488.2 definite-length block answers
//         - { q: "CURV?", datatype: float32, bigEndian: false, length: 1000, values: sine }
//       silent: ["HANG?"]                      # read, never answered (client timeouts)
//       drop: ["DROP?"]                        # half an answer, then the connection is closed
//       operations: [{ q: "INIT", ms: 200 }]  # a command that keeps the instrument busy; *OPC then sets
//                                             # the ESR's operation-complete bit once every operation is
//                                             # complete, a service request (SRQ) after *ESE 1 and *SRE 32
//                                             # (IEEE 488.2: *ESR?, *ESE, *SRE, *STB?, *CLS)
//   resources:
//     - { device: dmm, socket: { port: 5025 } }          # port 0: any free port
//     - { device: dmm, vxi11: { name: inst0 } }          # registered with rpcbind
//     - { device: dmm, hislip: { port: 4880 } }          # HiSLIP; port 0 (default): any free port
//     - { device: dmm, serial: { link: /tmp/sim-dmm } }  # a pty made by socat
//
// Limits, each refused with file:line:column: a file of at most 16 MiB of UTF-8, 100,000 dialogues a
// device, 16 placeholders a setter, 64 MiB of data a block, 100 digits a format; a serial link must not
// exist yet (unless it is a symbolic link) nor hold socat's address syntax (, ! : white space). A key the
// format does not have is refused there too: a typo (`respones:`) is not silently ignored.
import { readFileSync } from "node:fs";
import { decodeDataFile, parseDataFile, type DataPath } from "../../../src/files/dataFile.ts";
import { type Datatype, MAX_BLOCK_BYTES, MAX_FORMAT_DIGITS, datatypeSizes, formatSpec } from "./valueFormats.ts";

export interface DialogueDef {
  q: string;
  r?: string | null;
}
export interface PropertyDef {
  default: number | string;
  getter?: { q: string; r: string };
  setter?: { q: string; r?: string | null; e?: string | null };
  specs?: { min?: number; max?: number; type?: "float" | "int" | "str"; valid?: Array<number | string> };
}
export interface BlockDef {
  q: string;
  datatype?: Datatype;
  bigEndian?: boolean;
  /** Values per answer; or the name of a property holding it. */
  length?: number | string;
  /** sine | ramp | counter (continues across answers) | a list. */
  values?: "sine" | "ramp" | "counter" | number[];
}
export interface DeviceDef {
  eom?: { q?: string; r?: string };
  error?: string;
  dialogues?: DialogueDef[];
  properties?: Record<string, PropertyDef>;
  blocks?: BlockDef[];
  silent?: string[];
  drop?: string[];
  /** Commands that start an operation taking `ms`; `*OPC` sets the operation-complete event when all are
   * done (a service request once `*ESE 1` and `*SRE 32` enable it). */
  operations?: { q: string; ms: number }[];
}
export interface ResourceDef {
  device: string;
  socket?: { port?: number; host?: string };
  vxi11?: { name?: string };
  hislip?: { port?: number; host?: string; name?: string };
  serial?: { link?: string };
}
export interface SimDefinition {
  devices: Record<string, DeviceDef>;
  resources?: ResourceDef[];
}

export class SimDefinitionError extends Error {
  override name = "SimDefinitionError";
}

/** Reads and checks a definition file; every error starts with file:line:column. */
export function loadDefinition(file: string): SimDefinition {
  const refuse = (message: string) => new SimDefinitionError(message);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SimDefinitionError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseDefinition(file, decodeDataFile(file, bytes, refuse));
}

/** Parses and checks the text of a definition file (what `labdaemon sim` read); errors start with file:line:column. */
export function parseDefinition(file: string, text: string): SimDefinition {
  const { raw, position } = parseDataFile(file, text, (message) => new SimDefinitionError(message));
  return validateDefinition(raw, file, position);
}

const datatypes = new Set(Object.keys(datatypeSizes));
const blockValues = new Set(["sine", "ramp", "counter"]);
const specTypes = new Set(["float", "int", "str"]);
/** More dialogues than a hand-written definition holds is a generated file gone wrong. */
export const MAX_DIALOGUES = 100_000;
/** Placeholders in one setter: SCPI commands take a handful of arguments. */
export const MAX_SETTER_PLACEHOLDERS = 16;
/** Characters socat reads as its own address syntax in `link=`. */
const socatSyntax = /[,!:\s]/;
/** The keys each map of the format may have (the interfaces above). */
const KEYS = {
  definition: ["devices", "resources"],
  device: ["eom", "error", "dialogues", "properties", "blocks", "silent", "drop", "operations"],
  eom: ["q", "r"],
  dialogue: ["q", "r"],
  property: ["default", "getter", "setter", "specs"],
  getter: ["q", "r"],
  setter: ["q", "r", "e"],
  specs: ["min", "max", "type", "valid"],
  block: ["q", "datatype", "bigEndian", "length", "values"],
  operation: ["q", "ms"],
  resource: ["device", "socket", "vxi11", "hislip", "serial"],
  socket: ["port", "host"],
  vxi11: ["name"],
  hislip: ["port", "host", "name"],
  serial: ["link"],
} as const satisfies Record<string, readonly string[]>;

/** `position` locates a path in the source file (":line:column"), when there is one. */
export function validateDefinition(
  raw: unknown,
  where = "definition",
  position: (path: DataPath) => string = () => "",
): SimDefinition {
  const fail = (path: DataPath, why: string): never => {
    throw new SimDefinitionError(`${where}${position(path)}: ${formatPath(path)}: ${why}`);
  };
  /** The entries of an optional list; anything but a list is refused. */
  const list = (v: unknown, path: DataPath): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(path, "must be a list");
    return v as unknown[];
  };
  /** The entries of an optional map; anything but a map is refused. */
  const map = (v: unknown, path: DataPath): Array<[string, unknown]> => {
    if (v === undefined) return [];
    if (!isObject(v)) fail(path, "must be a map");
    return Object.entries(v as object);
  };
  const optionalString = (v: unknown, path: DataPath, nullable = false) => {
    if (v !== undefined && typeof v !== "string" && !(nullable && v === null)) fail(path, "must be a string");
  };
  const strings = (v: unknown, path: DataPath) => {
    for (const [i, x] of list(v, path).entries()) if (typeof x !== "string") fail([...path, i], "must be a string");
  };
  /** Refuses a key the format does not have at `path` (a typo would otherwise be silently ignored). */
  const onlyKeys = (v: unknown, path: DataPath, keys: readonly string[]) => {
    if (!isObject(v)) return;
    for (const k of Object.keys(v))
      if (!keys.includes(k)) fail([...path, k], `unknown key (known: ${keys.join(", ")})`);
  };

  if (!isObject(raw)) fail([], "must be an object with `devices`");
  const def = raw as Record<string, unknown>;
  onlyKeys(def, [], KEYS.definition);
  if (!isObject(def.devices) || Object.keys(def.devices).length === 0)
    fail(["devices"], "must name at least one device");
  for (const [name, d] of Object.entries(def.devices as Record<string, unknown>)) {
    const p = ["devices", name];
    if (!isObject(d)) fail(p, "must be an object");
    const dev = d as Record<string, unknown>;
    onlyKeys(dev, p, KEYS.device);
    if (dev.eom !== undefined) {
      if (!isObject(dev.eom)) fail([...p, "eom"], "must be a map with `q` and/or `r`");
      onlyKeys(dev.eom, [...p, "eom"], KEYS.eom);
      for (const k of ["q", "r"] as const) {
        const t = (dev.eom as Record<string, unknown>)[k];
        // An empty terminator matches everywhere: the message splitter would never advance.
        if (t !== undefined && (typeof t !== "string" || t === ""))
          fail([...p, "eom", k], "must be a non-empty string");
      }
    }
    optionalString(dev.error, [...p, "error"]);
    const dialogues = list(dev.dialogues, [...p, "dialogues"]);
    if (dialogues.length > MAX_DIALOGUES)
      fail([...p, "dialogues"], `${dialogues.length} dialogues, at most ${MAX_DIALOGUES}`);
    for (const [i, dl] of dialogues.entries()) {
      if (!isObject(dl) || typeof dl.q !== "string") fail([...p, "dialogues", i], "needs a string `q`");
      onlyKeys(dl, [...p, "dialogues", i], KEYS.dialogue);
      optionalString((dl as Record<string, unknown>).r, [...p, "dialogues", i, "r"], true);
    }
    const properties = new Map(map(dev.properties, [...p, "properties"]));
    for (const [pn, pr] of properties) {
      const pp = [...p, "properties", pn];
      if (!isObject(pr) || !("default" in pr)) fail(pp, "needs a `default`");
      const prop = pr as Record<string, unknown>;
      onlyKeys(prop, pp, KEYS.property);
      if (typeof prop.default !== "string" && !(typeof prop.default === "number" && Number.isFinite(prop.default)))
        fail([...pp, "default"], "must be a number or a string");
      if (prop.getter !== undefined) {
        if (!isObject(prop.getter) || typeof prop.getter.q !== "string" || typeof prop.getter.r !== "string")
          fail([...pp, "getter"], "needs string `q` and `r`");
        onlyKeys(prop.getter, [...pp, "getter"], KEYS.getter);
        const bad = badFormat((prop.getter as { r: string }).r);
        if (bad) fail([...pp, "getter", "r"], bad);
      }
      if (prop.setter !== undefined) {
        if (!isObject(prop.setter) || typeof prop.setter.q !== "string" || !String(prop.setter.q).includes("{"))
          fail([...pp, "setter"], "needs a string `q` with a {} placeholder");
        const setter = prop.setter as Record<string, unknown>;
        onlyKeys(setter, [...pp, "setter"], KEYS.setter);
        const placeholders = (setter.q as string).match(/\{[^}]*\}/g)?.length ?? 0;
        if (placeholders > MAX_SETTER_PLACEHOLDERS)
          fail([...pp, "setter", "q"], `${placeholders} placeholders, at most ${MAX_SETTER_PLACEHOLDERS}`);
        optionalString(setter.r, [...pp, "setter", "r"], true);
        optionalString(setter.e, [...pp, "setter", "e"], true);
      }
      if (prop.specs !== undefined) {
        if (!isObject(prop.specs)) fail([...pp, "specs"], "must be a map");
        const specs = prop.specs as Record<string, unknown>;
        onlyKeys(specs, [...pp, "specs"], KEYS.specs);
        for (const k of ["min", "max"]) {
          if (specs[k] !== undefined && !(typeof specs[k] === "number" && Number.isFinite(specs[k])))
            fail([...pp, "specs", k], "must be a number");
        }
        if (typeof specs.min === "number" && typeof specs.max === "number" && specs.min > specs.max)
          fail([...pp, "specs", "min"], `min ${specs.min} is above max ${specs.max}: no value would be accepted`);
        if (specs.type !== undefined && !specTypes.has(String(specs.type)))
          fail([...pp, "specs", "type"], `unknown '${specs.type}' (float, int or str)`);
        for (const [i, v] of list(specs.valid, [...pp, "specs", "valid"]).entries()) {
          if (typeof v !== "string" && typeof v !== "number")
            fail([...pp, "specs", "valid", i], "must be a number or a string");
        }
      }
    }
    for (const [i, b] of list(dev.blocks, [...p, "blocks"]).entries()) {
      const bp = [...p, "blocks", i];
      if (!isObject(b) || typeof b.q !== "string") fail(bp, "needs a string `q`");
      const blk = b as Record<string, unknown>;
      onlyKeys(blk, bp, KEYS.block);
      if (blk.datatype !== undefined && !datatypes.has(String(blk.datatype)))
        fail([...bp, "datatype"], `unknown '${blk.datatype}'`);
      if (blk.bigEndian !== undefined && typeof blk.bigEndian !== "boolean")
        fail([...bp, "bigEndian"], "must be true or false");
      const size = datatypeSizes[(blk.datatype as Datatype | undefined) ?? "float32"];
      const most = Math.floor(MAX_BLOCK_BYTES / size);
      if (typeof blk.length === "string") {
        if (!properties.has(blk.length)) fail([...bp, "length"], `no property '${blk.length}'`);
        if (typeof (properties.get(blk.length) as Record<string, unknown>).default !== "number")
          fail([...bp, "length"], `property '${blk.length}' must have a numeric default`);
      } else if (
        blk.length !== undefined &&
        !(Number.isSafeInteger(blk.length) && (blk.length as number) >= 0 && (blk.length as number) <= most)
      ) {
        fail(
          [...bp, "length"],
          `must be a whole number from 0 to ${most} (${MAX_BLOCK_BYTES >> 20} MiB of ${blk.datatype ?? "float32"}), or a property name`,
        );
      }
      if (Array.isArray(blk.values)) {
        if (blk.values.length === 0) fail([...bp, "values"], "must not be an empty list");
        if (blk.values.length > most) fail([...bp, "values"], `${blk.values.length} values, at most ${most}`);
        for (const [k, v] of blk.values.entries())
          if (typeof v !== "number") fail([...bp, "values", k], "must be a number");
      } else if (blk.values !== undefined && !blockValues.has(String(blk.values))) {
        fail([...bp, "values"], `unknown '${blk.values}' (sine, ramp, counter or a list of numbers)`);
      }
    }
    strings(dev.silent, [...p, "silent"]);
    strings(dev.drop, [...p, "drop"]);
    for (const [k, op] of list(dev.operations, [...p, "operations"]).entries()) {
      const o = op as Record<string, unknown>;
      if (!isObject(op) || typeof o.q !== "string") fail([...p, "operations", k], "needs a `q`");
      onlyKeys(o, [...p, "operations", k], KEYS.operation);
      if (typeof o.ms !== "number" || !Number.isFinite(o.ms) || o.ms < 0 || o.ms > 3_600_000)
        fail([...p, "operations", k, "ms"], "must be a number of milliseconds from 0 to 3600000");
    }
  }
  const resources = list(def.resources, ["resources"]);
  // Without one the simulator would start, serve nothing and look as if it worked.
  if (resources.length === 0)
    fail(["resources"], "must list at least one resource to serve (socket, vxi11, hislip or serial)");
  const vxi11Names = new Map<string, number>();
  const links = new Map<string, number>();
  for (const [i, r] of resources.entries()) {
    const rp = ["resources", i];
    if (!isObject(r) || typeof r.device !== "string") fail(rp, "needs a `device`");
    const res = r as Record<string, unknown>;
    onlyKeys(res, rp, KEYS.resource);
    // Own keys only: "toString" is not a device because every object inherits one.
    if (!Object.hasOwn(def.devices as object, res.device as string))
      fail([...rp, "device"], `no device '${res.device}'`);
    if (!res.socket && !res.vxi11 && !res.hislip && !res.serial) fail(rp, "needs one of socket, vxi11, hislip, serial");
    for (const k of ["socket", "vxi11", "hislip", "serial"] as const) {
      if (res[k] !== undefined && !isObject(res[k])) fail([...rp, k], "must be a map");
      onlyKeys(res[k], [...rp, k], KEYS[k]);
    }
    const socket = res.socket as Record<string, unknown> | undefined;
    if (
      socket?.port !== undefined &&
      !(Number.isInteger(socket.port) && (socket.port as number) >= 0 && (socket.port as number) <= 65535)
    )
      fail([...rp, "socket", "port"], "must be a whole number from 0 to 65535 (0: any free port)");
    optionalString(socket?.host, [...rp, "socket", "host"]);
    const hislip = res.hislip as Record<string, unknown> | undefined;
    if (
      hislip?.port !== undefined &&
      !(Number.isInteger(hislip.port) && (hislip.port as number) >= 0 && (hislip.port as number) <= 65535)
    )
      fail([...rp, "hislip", "port"], "must be a whole number from 0 to 65535 (0: any free port)");
    optionalString(hislip?.host, [...rp, "hislip", "host"]);
    if (hislip?.name !== undefined && !(typeof hislip.name === "string" && /^hislip\d*$/i.test(hislip.name)))
      fail([...rp, "hislip", "name"], "must be a HiSLIP sub-address such as hislip0");
    const vxi11 = res.vxi11 as Record<string, unknown> | undefined;
    optionalString(vxi11?.name, [...rp, "vxi11", "name"]);
    if (vxi11) {
      // One VXI-11 core channel serves every device, told apart by this name alone.
      const name = (vxi11.name as string | undefined) ?? "inst0";
      const first = vxi11Names.get(name);
      if (first !== undefined)
        fail(
          vxi11.name === undefined ? [...rp, "vxi11"] : [...rp, "vxi11", "name"],
          `VXI-11 name '${name}' is already served by resources[${first}]; each must be unique`,
        );
      vxi11Names.set(name, i);
    }
    const link = (res.serial as Record<string, unknown> | undefined)?.link;
    if (link !== undefined) {
      const bad = badLink(link);
      if (bad) fail([...rp, "serial", "link"], bad);
      // socat would move the first pty's link to the second: the first device could no longer be reached.
      const first = links.get(link as string);
      if (first !== undefined)
        fail([...rp, "serial", "link"], `'${link}' is already the link of resources[${first}]; each must be unique`);
      links.set(link as string, i);
    }
  }
  return def as unknown as SimDefinition;
}

/** Why a getter's answer format cannot be used, or null. */
function badFormat(format: string): string | null {
  for (const m of format.matchAll(/\{(?::([^}]*))?\}/g)) {
    if (m[1] === undefined || m[1] === "") continue;
    const spec = formatSpec.exec(m[1]);
    if (!spec) return `unsupported format '${m[0]}' ({}, {:d}, {:.Nf}, {:.Ne}, {:.NE} or {:g})`;
    if (spec[1] !== "" && Number(spec[1]) > MAX_FORMAT_DIGITS) return `'${m[0]}': at most ${MAX_FORMAT_DIGITS} digits`;
  }
  return null;
}

/** Why a serial `link` path cannot be handed to socat, or null. */
export function badLink(link: unknown): string | null {
  if (typeof link !== "string" || link === "") return "must be a non-empty path";
  if (socatSyntax.test(link)) return "must not contain ',' '!' ':' or white space (socat reads them as address syntax)";
  return null;
}

/** devices.a.blocks[0].datatype; "(top)" for the whole definition. */
function formatPath(path: DataPath): string {
  if (path.length === 0) return "(top)";
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
