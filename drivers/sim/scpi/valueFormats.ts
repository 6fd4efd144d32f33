// What a simulated answer may hold, shared by the definition checker (definition.ts) and the instrument
// that answers (instrument.ts): block datatypes and their sizes, the block size limit, the format specs.

export type Datatype = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64";

/** A block answer carries at most this much data: a definition (or a setter) cannot exhaust memory. */
export const MAX_BLOCK_BYTES = 64 << 20;

export const datatypeSizes: Record<Datatype, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

/** The format specs formatValue understands; anything else in braces is refused when a definition loads. */
export const formatSpec = /^\.?(\d*)([dfeEg])$/;
/** Digits toFixed and toExponential accept. */
export const MAX_FORMAT_DIGITS = 100;
