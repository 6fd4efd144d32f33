// Typed views over the data of an IEEE 488.2 block. The native side already removed the header.

export type BlockDatatype = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64";

export interface BlockFormat {
  datatype?: BlockDatatype;
  /** Byte order of the instrument's data; most instruments default to big endian (`FORM:BORD NORM`). */
  bigEndian?: boolean;
  /**
   * A typed array to read the data into, reused from block to block the way a C client reuses its
   * buffer: the answer is then a view of its first values (no new memory per block). A block longer than
   * it is returned in a new array instead.
   */
  into?: ArrayBufferView;
}

type Typed = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const ctors = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

export type BlockArray<T extends BlockDatatype> = InstanceType<(typeof ctors)[T]>;

/** Bytes per value of `datatype` (float32 when not given); 1 for a name that is not a datatype (decodeBlock
 * reports those). */
export function blockElementSize(datatype: BlockDatatype | undefined): number {
  const d = datatype ?? "float32";
  return Object.hasOwn(ctors, d) ? ctors[d].BYTES_PER_ELEMENT : 1;
}

/** The typed-array class of `datatype`; a TypeError for a name that is not a datatype. */
export function blockCtor(datatype: BlockDatatype): (typeof ctors)[BlockDatatype] {
  const Ctor = Object.hasOwn(ctors, datatype) ? ctors[datatype] : undefined; // not Object.prototype's members
  if (!Ctor) throw new TypeError(`unknown block datatype '${datatype}'`);
  return Ctor;
}

/** The largest blockArray, in bytes (4 GiB: WebAssembly's 65,536 pages of 64 KiB). */
export const MAX_BLOCK_ARRAY_BYTES = 2 ** 32;
const WASM_PAGE = 65536;
const undetachable = new WeakSet<ArrayBufferLike>();

/**
 * A zeroed typed array of `length` values of `datatype` (float32 when not given) to reuse as `into` for
 * large blocks (a waveform loop). Its memory is a WebAssembly.Memory nobody else holds, so it cannot be
 * detached (`transfer()`, or transferring it to a Worker, throws a TypeError; copying it works) nor moved,
 * and a LAN instrument's native worker reads blocks straight into it; a plain typed array is filled through
 * a buffer of the worker's own and copied over on the JS thread.
 */
export function blockArray<T extends BlockDatatype = "float32">(length: number, datatype?: T): BlockArray<T> {
  const Ctor = blockCtor(datatype ?? "float32");
  const bytes = length * Ctor.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(length) || length < 0 || bytes > MAX_BLOCK_ARRAY_BYTES) {
    throw new RangeError(`blockArray length must be a whole number of values up to ${MAX_BLOCK_ARRAY_BYTES} bytes`);
  }
  const pages = Math.ceil(bytes / WASM_PAGE);
  const buffer = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
  undetachable.add(buffer);
  return new Ctor(buffer, 0, length) as Typed as BlockArray<T>;
}

/** Whether `view`'s memory is a blockArray's, which cannot be detached while a native thread writes it. */
export function isUndetachable(view: ArrayBufferView): boolean {
  return undetachable.has(view.buffer);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `owned`: the caller gives `bytes` away (as the addon's fresh answers are), so the values may be
 * viewed and byte-swapped in place instead of copied.
 */
export function decodeBlock<T extends BlockDatatype>(
  bytes: Uint8Array,
  format: BlockFormat & { datatype?: T } = {},
  owned = false,
): BlockArray<T> {
  const datatype = (format.datatype ?? "float32") as BlockDatatype;
  const Ctor = blockCtor(datatype);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`block of ${bytes.byteLength} bytes is not a whole number of ${datatype} values`);
  }
  const into = format.into ? intoBytes(format.into, size) : null;
  // Typed arrays need aligned offsets: small Buffers come from a shared pool at any offset.
  let copy: Uint8Array;
  if (into && bytes.byteLength <= into.byteLength) {
    copy = into.subarray(0, bytes.byteLength);
    if (bytes.buffer !== into.buffer || bytes.byteOffset !== into.byteOffset) copy.set(bytes);
  } else copy = owned && bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  if (size > 1 && (format.bigEndian ?? false) === littleEndianHost) swapInPlace(copy, size);
  return new Ctor(copy.buffer as ArrayBuffer, copy.byteOffset, copy.byteLength / size) as Typed as BlockArray<T>;
}

/** `into`'s bytes, checked where the request is made: a typed array (or DataView) aligned for `size`. */
export function intoBytes(into: ArrayBufferView, size = 1): Uint8Array {
  if (!ArrayBuffer.isView(into)) throw new TypeError("into must be a typed array");
  if (into.byteOffset % size !== 0) throw new RangeError(`into must start at a multiple of ${size} bytes`);
  return new Uint8Array(into.buffer as ArrayBuffer, into.byteOffset, into.byteLength);
}

function swapInPlace(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo]!;
      b[lo] = b[hi]!;
      b[hi] = t;
    }
  }
}

/** An IEEE 488.2 definite-length block around `data` (used by the simulators). */
export function encodeBlockHeader(byteLength: number): string {
  const len = String(byteLength);
  return `#${len.length}${len}`;
}
