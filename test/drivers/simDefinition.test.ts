// Hostile and malformed simulator definitions: each is refused with file:line:column (or the byte
// offset), never a crash, a hang or a runaway allocation.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SimDefinitionError, loadDefinition } from "../../drivers/sim/scpi/index.ts";
import { MAX_DATA_FILE_BYTES, parseDataFile } from "../../src/cli/dataFile.ts";
import { MAX_JSON_DEPTH, findJsonSyntaxError } from "../../src/cli/jsonSyntax.ts";

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
    for (const [prev, name] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const err = loadError("bomb.yaml", levels.join("\n") + "\n");
    expect(err.message).toStartWith(`${dir}/bomb.yaml:2:8: invalid YAML: aliases expand too far`);
  });

  test("JSON nested deeper than the limit is a syntax error with its position, not a stack overflow", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(findJsonSyntaxError(deep)).toEqual({ offset: MAX_JSON_DEPTH, message: `nested more than ${MAX_JSON_DEPTH} levels deep` });
    expect(() => parseDataFile("deep.json", deep, refuse)).toThrow(`deep.json:1:${MAX_JSON_DEPTH + 1}: invalid JSON: nested more than`);
    const fine = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    expect(findJsonSyntaxError(fine)).toBeNull();
  });

  test("a definition that is not UTF-8 is refused with the byte offset of the first bad byte", () => {
    const bytes = Buffer.concat([Buffer.from("devices:\n  caf"), Buffer.from([0xe9]), Buffer.from(": {}\n")]);
    expect(loadError("latin1.yaml", bytes).message).toBe(`${dir}/latin1.yaml: not UTF-8: invalid byte sequence at byte offset 14`);
  });

  test("a definition file over the size cap is refused before parsing", () => {
    const big = Buffer.alloc(MAX_DATA_FILE_BYTES + 1, 0x20);
    expect(loadError("big.yaml", big).message).toContain(`is too big for a data file (at most ${MAX_DATA_FILE_BYTES})`);
  });
});
