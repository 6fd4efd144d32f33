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
//   resources:
//     - { device: dmm, socket: { port: 5025 } }          # port 0: any free port
//     - { device: dmm, vxi11: { name: inst0 } }          # registered with rpcbind
//     - { device: dmm, serial: { link: /tmp/sim-dmm } }  # a pty made by socat
import { readFileSync } from "node:fs";
import { decodeDataFile, parseDataFile, type DataPath } from "../../../src/cli/dataFile.ts";

export type Datatype = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64";

export interface DialogueDef { q: string; r?: string | null }
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
}
export interface ResourceDef {
  device: string;
  socket?: { port?: number; host?: string };
  vxi11?: { name?: string };
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
  const { raw, position } = parseDataFile(file, decodeDataFile(file, bytes, refuse), refuse);
  return validateDefinition(raw, file, position);
}

const datatypes = new Set(["int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"]);

/** `position` locates a path in the source file (":line:column"), when there is one. */
export function validateDefinition(raw: unknown, where = "definition", position: (path: DataPath) => string = () => ""): SimDefinition {
  const fail = (path: DataPath, why: string): never => {
    throw new SimDefinitionError(`${where}${position(path)}: ${formatPath(path)}: ${why}`);
  };
  if (!isObject(raw)) fail([], "must be an object with `devices`");
  const def = raw as Record<string, unknown>;
  if (!isObject(def.devices) || Object.keys(def.devices).length === 0) fail(["devices"], "must name at least one device");
  for (const [name, d] of Object.entries(def.devices as Record<string, unknown>)) {
    const p = ["devices", name];
    if (!isObject(d)) fail(p, "must be an object");
    const dev = d as Record<string, unknown>;
    for (const [i, dl] of ((dev.dialogues as unknown[]) ?? []).entries()) {
      if (!isObject(dl) || typeof dl.q !== "string") fail([...p, "dialogues", i], "needs a string `q`");
    }
    for (const [pn, pr] of Object.entries((dev.properties as Record<string, unknown>) ?? {})) {
      const pp = [...p, "properties", pn];
      if (!isObject(pr) || !("default" in pr)) fail(pp, "needs a `default`");
      const prop = pr as Record<string, unknown>;
      if (prop.getter !== undefined && (!isObject(prop.getter) || typeof prop.getter.q !== "string" || typeof prop.getter.r !== "string"))
        fail([...pp, "getter"], "needs string `q` and `r`");
      if (prop.setter !== undefined && (!isObject(prop.setter) || typeof prop.setter.q !== "string" || !String(prop.setter.q).includes("{")))
        fail([...pp, "setter"], "needs a string `q` with a {} placeholder");
    }
    for (const [i, b] of ((dev.blocks as unknown[]) ?? []).entries()) {
      if (!isObject(b) || typeof b.q !== "string") fail([...p, "blocks", i], "needs a string `q`");
      const blk = b as Record<string, unknown>;
      if (blk.datatype !== undefined && !datatypes.has(String(blk.datatype))) fail([...p, "blocks", i, "datatype"], `unknown '${blk.datatype}'`);
    }
  }
  for (const [i, r] of ((def.resources as unknown[]) ?? []).entries()) {
    if (!isObject(r) || typeof r.device !== "string") fail(["resources", i], "needs a `device`");
    const res = r as Record<string, unknown>;
    // Own keys only: "toString" is not a device because every object inherits one.
    if (!Object.hasOwn(def.devices as object, res.device as string)) fail(["resources", i, "device"], `no device '${res.device}'`);
    if (!res.socket && !res.vxi11 && !res.serial) fail(["resources", i], "needs one of socket, vxi11, serial");
  }
  return def as unknown as SimDefinition;
}

/** devices.a.blocks[0].datatype; "(top)" for the whole definition. */
function formatPath(path: DataPath): string {
  if (path.length === 0) return "(top)";
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
