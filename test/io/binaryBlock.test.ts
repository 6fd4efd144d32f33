import { expect, test } from "bun:test";
import { decodeBlock, type BlockDatatype } from "../../src/io/binaryBlock.ts";

test("an unknown datatype is a TypeError naming it, also when it names an Object.prototype member", () => {
  const bytes = new Uint8Array(8);
  for (const datatype of ["float16", "constructor", "toString", "__proto__"]) {
    expect(() => decodeBlock(bytes, { datatype: datatype as BlockDatatype })).toThrow(
      new TypeError(`unknown block datatype '${datatype}'`),
    );
  }
  expect([...decodeBlock(new Uint8Array([0, 1, 0, 2]), { datatype: "int16", bigEndian: true })]).toEqual([1, 2]);
});
