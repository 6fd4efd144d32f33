// Arrays for `queryBinaryBlock(q, { into })` that a LAN instrument's native worker fills without a copy.
// A plain typed array as `into` is filled through the worker's scratch buffer and copied over on the JS
// thread (the caller could detach it while the worker writes); memory from the addon's blockMemory() stays
// alive while any read writes it, so the worker writes it directly (native/io/binding/fd_read_binding.cc).
import { type BlockArray, type BlockDatatype, blockCtor } from "./binaryBlock.ts";
import { native } from "./native.ts";

/** The largest blockArray, in bytes (4 GiB). */
export const MAX_BLOCK_ARRAY_BYTES = 2 ** 32;

type Allocate = (byteLength: number) => ArrayBuffer;
let allocate: Allocate | null | undefined;
function allocator(): Allocate | null {
  if (allocate === undefined) {
    try {
      allocate = process.platform === "win32" ? null : ((native.blockMemory as Allocate | undefined) ?? null);
    } catch {
      allocate = null; // no addon: plain arrays, which the event loop fills
    }
  }
  return allocate;
}

/**
 * A zeroed typed array of `length` values of `datatype` (float32 when not given) to reuse as `into` for
 * large blocks (a waveform loop): on a LAN socket the native worker reads the block straight into it, with
 * no copy on the JS thread. Anywhere else it behaves as a plain typed array.
 */
export function blockArray<T extends BlockDatatype = "float32">(length: number, datatype?: T): BlockArray<T> {
  const Ctor = blockCtor(datatype ?? "float32");
  const bytes = length * Ctor.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(length) || length < 0 || bytes > MAX_BLOCK_ARRAY_BYTES) {
    throw new RangeError(`blockArray length must be a whole number of values up to ${MAX_BLOCK_ARRAY_BYTES} bytes`);
  }
  const alloc = allocator();
  return (alloc ? new Ctor(alloc(bytes)) : new Ctor(length)) as BlockArray<T>;
}
