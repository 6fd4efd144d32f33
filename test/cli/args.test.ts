import { expect, test } from "bun:test";
import { UsageError } from "../../src/cli/args.ts";
import { queryCommand } from "../../src/cli/query.ts";

test("query --baud-rate with a bad value names the flag and its unit (bits per second, not milliseconds)", async () => {
  const err = await queryCommand(["--baud-rate", "fast", "ASRL/dev/null::INSTR", "*IDN?"]).catch((e) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect(err.message).toBe("--baud-rate must be a whole number of bits per second, got 'fast'");
  const timeout = await queryCommand(["--timeout", "soon", "ASRL/dev/null::INSTR", "*IDN?"]).catch((e) => e);
  expect(timeout.message).toBe("--timeout must be a whole number of milliseconds, got 'soon'");
});
