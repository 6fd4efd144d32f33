// One simulated SCPI instrument: its state and the answer to each message. Transport-free, so the
// socket, VXI-11 and serial servers share it.
import type { BlockDef, DeviceDef, PropertyDef } from "./definition.ts";
import { StatusModel } from "./statusModel.ts";
import { type Datatype, MAX_BLOCK_BYTES, MAX_FORMAT_DIGITS, datatypeSizes, formatSpec } from "./valueFormats.ts";
import { clip } from "../../../src/core/clip.ts";

export type SimReply =
  | { kind: "none" }
  | { kind: "data"; bytes: Uint8Array }
  /** Read the message, never answer (what a hung instrument does). */
  | { kind: "silent" }
  /** Send `bytes` (part of an answer), then close the connection. */
  | { kind: "drop"; bytes: Uint8Array };

const NONE: SimReply = { kind: "none" };
const SILENT: SimReply = { kind: "silent" };

interface Setter {
  pattern: SetterPattern;
  prop: string;
  def: PropertyDef;
}

export class SimulatedInstrument {
  readonly queryTerm: string;
  readonly replyTerm: string;
  readonly #def: DeviceDef;
  readonly #fixed = new Map<string, SimReply>();
  readonly #getters = new Map<string, { prop: string; format: string }>();
  readonly #setters: Setter[] = [];
  readonly #blocks = new Map<string, BlockDef>();
  readonly #blockCache = new Map<string, Uint8Array>();
  readonly #silent = new Set<string>();
  readonly #drop = new Set<string>();
  readonly #values = new Map<string, number | string>();
  readonly #errors: string[] = [];
  #counter = 0;
  #failureLogged = false;
  readonly #operations = new Map<string, number>();
  #busyUntil = 0;
  /** *ESR?, *ESE, *SRE, *STB?, *CLS and the service request *OPC raises. */
  readonly status = new StatusModel();

  constructor(def: DeviceDef) {
    this.#def = def;
    this.queryTerm = def.eom?.q ?? "\n";
    this.replyTerm = def.eom?.r ?? "\n";
    if (this.queryTerm === "") throw new RangeError("eom.q (the query terminator) must not be empty");
    for (const d of def.dialogues ?? []) {
      this.#fixed.set(key(d.q), d.r == null ? NONE : { kind: "data", bytes: Buffer.from(d.r + this.replyTerm) });
    }
    for (const [name, p] of Object.entries(def.properties ?? {})) {
      this.#values.set(name, p.default);
      if (p.getter) this.#getters.set(key(p.getter.q), { prop: name, format: p.getter.r });
      if (p.setter) this.#setters.push({ pattern: setterPattern(p.setter.q), prop: name, def: p });
    }
    for (const b of def.blocks ?? []) this.#blocks.set(key(b.q), b);
    for (const s of def.silent ?? []) this.#silent.add(key(s));
    for (const s of def.drop ?? []) this.#drop.add(key(s));
    for (const o of def.operations ?? []) this.#operations.set(key(o.q), o.ms);
  }

  /** Called when the instrument requests service (with `*ESE 1` and `*SRE 32`: after `*OPC`, once its
   * operations are complete). */
  onServiceRequest(listener: () => void): () => void {
    return this.status.onServiceRequest(listener);
  }

  /** The IEEE 488.2 status byte as a serial poll reads it: reading it clears RQS (bit 6). */
  readStatusByte(): number {
    return this.status.serialPoll();
  }

  // The common commands of IEEE 488.2 status reporting; null when `k` is none of them.
  #statusCommand(k: string): SimReply | null {
    const st = this.status;
    switch (k) {
      case "*OPC":
        return st.armOpc(this.#busyUntil), NONE;
      case "*STB?":
        return this.#text(String(st.statusByteQuery()));
      case "*ESR?":
        return this.#text(String(st.readEventStatus()));
      case "*ESE?":
        return this.#text(String(st.eventEnable));
      case "*SRE?":
        return this.#text(String(st.serviceRequestEnable));
      case "*CLS":
        return st.clear(), NONE;
    }
    const m = /^\*(ESE|SRE)\s+\+?(\d{1,3})$/.exec(k);
    if (!m) return null;
    const mask = Number(m[2]);
    if (mask > 255) {
      this.#errors.push('-222,"Data out of range"');
      return NONE;
    }
    if (m[1] === "ESE") st.setEventEnable(mask);
    else st.setServiceRequestEnable(mask);
    return NONE;
  }

  /** Back to the defaults (what *RST would do). */
  reset(): void {
    for (const [name, p] of Object.entries(this.#def.properties ?? {})) this.#values.set(name, p.default);
    this.#errors.length = 0;
    this.#counter = 0;
  }

  property(name: string): number | string | undefined {
    return this.#values.get(name);
  }

  /** The answer to one message. A query the definition cannot answer gets `error` (or nothing), never a crash. */
  handle(message: string): SimReply {
    try {
      return this.#handle(message);
    } catch (e) {
      if (!this.#failureLogged) {
        this.#failureLogged = true;
        console.error(
          `simulator: cannot answer ${JSON.stringify(clip(message, 80))}: ${(e as Error).message} (later failures are not logged)`,
        );
      }
      this.#errors.push('-300,"Device-specific error"');
      // Only a query expects an answer: one sent to a command would be read as the next query's.
      return key(message).endsWith("?") && this.#def.error !== undefined ? this.#text(this.#def.error) : NONE;
    }
  }

  #handle(message: string): SimReply {
    const k = key(message);
    if (k === "") return NONE;
    const fixed = this.#fixed.get(k);
    if (fixed) return fixed;
    if (this.#silent.has(k)) return SILENT;
    const opMs = this.#operations.get(k);
    if (opMs !== undefined) {
      this.#busyUntil = Math.max(this.#busyUntil, performance.now() + opMs);
      return NONE;
    }
    if (k.startsWith("*")) {
      const status = this.#statusCommand(k);
      if (status) return status;
    }
    if (this.#drop.has(k)) return { kind: "drop", bytes: Buffer.from("PARTIAL,ANSW") };
    const block = this.#blocks.get(k);
    if (block) return { kind: "data", bytes: this.#block(block) };
    const getter = this.#getters.get(k);
    if (getter) return this.#text(formatValue(getter.format, this.#values.get(getter.prop)!));
    if (k === "SYST:ERR?" || k === "SYSTEM:ERROR?") return this.#text(this.#errors.shift() ?? '0,"No error"');
    const trimmed = message.trim();
    for (const s of this.#setters) {
      const value = matchSetter(s.pattern, trimmed);
      if (value !== null) return this.#set(s, value);
    }
    this.#errors.push('-113,"Undefined header"');
    if (k.endsWith("?") && this.#def.error !== undefined) return this.#text(this.#def.error);
    return NONE;
  }

  #text(s: string): SimReply {
    return { kind: "data", bytes: Buffer.from(s + this.replyTerm) };
  }

  #set(s: Setter, raw: string): SimReply {
    const specs = s.def.specs ?? {};
    let value: number | string = raw;
    let ok = true;
    if (specs.type !== "str") {
      value = Number(raw);
      ok = Number.isFinite(value) && (specs.type !== "int" || Number.isInteger(value));
      if (ok && specs.min !== undefined && value < specs.min) ok = false;
      if (ok && specs.max !== undefined && value > specs.max) ok = false;
    }
    if (ok && specs.valid && !specs.valid.includes(value)) ok = false;
    if (!ok) {
      this.#errors.push('-222,"Data out of range"');
      const e = s.def.setter?.e;
      return e == null ? NONE : this.#text(e);
    }
    this.#values.set(s.prop, value);
    const r = s.def.setter?.r;
    return r == null ? NONE : this.#text(r);
  }

  #block(b: BlockDef): Uint8Array {
    const values = b.values ?? "sine";
    const cacheKey = b.q;
    if (values !== "counter") {
      const cached = this.#blockCache.get(cacheKey);
      if (cached && typeof b.length !== "string") return cached;
    }
    const n =
      typeof b.length === "string"
        ? Number(this.#values.get(b.length) ?? 0)
        : (b.length ?? (Array.isArray(values) ? values.length : 100));
    const size = datatypeSizes[b.datatype ?? "float32"];
    // `length` may name a property a client sets: check the size here, not only when the definition loads.
    if (!Number.isSafeInteger(n) || n < 0 || n * size > MAX_BLOCK_BYTES) {
      throw new RangeError(
        `block ${b.q}: ${n} values is not a length (at most ${Math.floor(MAX_BLOCK_BYTES / size)} of ${b.datatype ?? "float32"})`,
      );
    }
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = Array.isArray(values)
        ? values[i % values.length]!
        : values === "ramp"
          ? i
          : values === "counter"
            ? this.#counter + i
            : Math.sin((2 * Math.PI * i) / Math.max(n, 1));
    }
    if (values === "counter") this.#counter += n;
    const payload = encodeValues(data, b.datatype ?? "float32", b.bigEndian ?? false);
    const len = String(payload.byteLength);
    const out = Buffer.concat([Buffer.from(`#${len.length}${len}`), payload, Buffer.from(this.replyTerm)]);
    if (values !== "counter") this.#blockCache.set(cacheKey, out);
    return out;
  }
}

function key(q: string): string {
  return q.trim().toUpperCase();
}

/** A setter's `q` cut at its placeholders, upper-cased: "VOLT {}" is ["VOLT ", ""]. */
type SetterPattern = string[];

function setterPattern(q: string): SetterPattern {
  return q
    .trim()
    .split(/\{[^}]*\}/)
    .map(asciiUpper);
}

/** Upper case that keeps every index: String#toUpperCase turns the Latin-1 "ß" into "SS". */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (w) => w.toUpperCase());
}

/**
 * The text in the first placeholder, or null when `message` does not fit the pattern. Each placeholder
 * takes at least one character; every literal is placed at its leftmost possible position, which finds
 * a match whenever one exists and makes the first value the shortest one, in linear time (a regular
 * expression of lazy groups backtracks exponentially on a near miss with many placeholders).
 */
export function matchSetter(pattern: SetterPattern, message: string): string | null {
  const text = asciiUpper(message);
  const first = pattern[0]!;
  const last = pattern[pattern.length - 1]!;
  if (!text.startsWith(first)) return null;
  const end = text.length - last.length;
  if (end < first.length || !text.endsWith(last)) return null;
  let at = first.length;
  let firstValueEnd = -1;
  for (let i = 1; i < pattern.length - 1; i++) {
    const literal = pattern[i]!;
    const found = text.indexOf(literal, at + 1);
    if (found < 0 || found + literal.length > end) return null;
    if (firstValueEnd < 0) firstValueEnd = found;
    at = found + literal.length;
  }
  if (end - at < 1) return null;
  return message.slice(first.length, firstValueEnd < 0 ? end : firstValueEnd);
}

// The subset of Python's format mini-language pyvisa-sim definitions use: {} {:d} {:.Nf} {:.Ne} {:g}.
export function formatValue(format: string, v: number | string): string {
  return format.replace(/\{(?::([^}]*))?\}/g, (_m, spec: string | undefined) => {
    if (!spec || typeof v === "string") return String(v);
    const m = formatSpec.exec(spec);
    if (!m) return String(v);
    const digits = m[1] === "" ? 6 : Math.min(Number(m[1]), MAX_FORMAT_DIGITS);
    switch (m[2]) {
      case "d":
        return String(Math.round(v));
      case "f":
        return v.toFixed(digits);
      case "e":
        return pythonExp(v.toExponential(digits));
      case "E":
        return pythonExp(v.toExponential(digits)).toUpperCase();
      default:
        return String(v);
    }
  });
}

function pythonExp(s: string): string {
  // JS writes 1.5e+0, Python 1.5e+00.
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

export function encodeValues(data: Float64Array, datatype: Datatype, bigEndian: boolean): Uint8Array {
  const size = datatypeSizes[datatype];
  const buf = new ArrayBuffer(data.length * size);
  const view = new DataView(buf);
  const le = !bigEndian;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const o = i * size;
    switch (datatype) {
      case "int8":
        view.setInt8(o, v);
        break;
      case "uint8":
        view.setUint8(o, v);
        break;
      case "int16":
        view.setInt16(o, v, le);
        break;
      case "uint16":
        view.setUint16(o, v, le);
        break;
      case "int32":
        view.setInt32(o, v, le);
        break;
      case "uint32":
        view.setUint32(o, v, le);
        break;
      case "float32":
        view.setFloat32(o, v, le);
        break;
      case "float64":
        view.setFloat64(o, v, le);
        break;
    }
  }
  return new Uint8Array(buf);
}
