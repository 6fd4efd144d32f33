import { expect, test } from "bun:test";
import { terminationFlag, UsageError } from "../../src/cli/args.ts";
import { plural } from "../../src/cli/plural.ts";
import { queryCommand } from "../../src/cli/query.ts";

test("query --baud-rate with a bad value names the flag and its unit (bits per second, not milliseconds)", async () => {
  const err = await queryCommand(["--baud-rate", "fast", "ASRL/dev/null::INSTR", "*IDN?"]).catch((e) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect(err.message).toBe("--baud-rate must be a whole number of bits per second within 1–100000000, got 'fast'");
  const timeout = await queryCommand(["--timeout", "soon", "ASRL/dev/null::INSTR", "*IDN?"]).catch((e) => e);
  expect(timeout.message).toBe("--timeout must be a whole number of milliseconds within 1–86400000 (24 h), got 'soon'");
});

test("terminations take \\r \\n \\t \\\\ \\xHH escapes and 'none'; anything else names the flag and the fault", () => {
  const t = (v: string) => terminationFlag(v, "--read-termination");
  expect(terminationFlag(undefined, "--read-termination")).toBeUndefined();
  expect([t("\\r\\n"), t("\\n"), t("\\x0D\\x0a"), t("END\\t"), t("\\\\n"), t("none"), t(""), t("\r\n")]).toEqual([
    "\r\n",
    "\n",
    "\r\n",
    "END\t",
    "\\n",
    "",
    "",
    "\r\n",
  ]);
  const fault = (v: string) => {
    try {
      t(v);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message.replace(/^.*\((.*)\)$/, "$1");
    }
    return "accepted";
  };
  expect([fault("\\q"), fault("\\"), fault("\\x4"), fault("\\xbf"), fault("\u00b5")]).toEqual([
    "unknown escape \\q",
    "a lone \\ at the end",
    "\\x needs two hex digits",
    "\\xbf is not ASCII",
    "'\u00b5' is not ASCII",
  ]);
});

test("counts in messages agree with their number", () => {
  expect([
    plural(0, "device"),
    plural(1, "device"),
    plural(2, "device"),
    plural(1, "library", "libraries"),
    plural(3, "library", "libraries"),
  ]).toEqual(["0 devices", "1 device", "2 devices", "1 library", "3 libraries"]);
});
