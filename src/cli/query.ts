// `labdaemon query RESOURCE MESSAGE`: one message to one instrument, for checking the wiring. The answer
// is printed byte for byte (a binary block's 0xBF is the byte 0xBF, not U+FFFD).
import { DeviceTimeoutError } from "../core/errors.ts";
import { ResourceManager, type MessageInstrument } from "../io/index.ts";
import { parseResourceName } from "../io/resourceName.ts";
import { msFlag, parseFlags, terminationFlag, UsageError, wholeFlag } from "./args.ts";
import { QUERY_HELP } from "./help.ts";
import { namedVisaLibrary, requireVisaLibrary } from "./visaLibrary.ts";

const FLAGS = {
  timeout: { type: "string" },
  "read-termination": { type: "string", emptyOk: true },
  "write-termination": { type: "string", emptyOk: true },
  "baud-rate": { type: "string" },
  "visa-library": { type: "string" },
} as const;

/** Above any UART's (FTDI chips reach 12 Mbit/s); a larger figure is a typo. */
const MAX_BAUD_RATE = 100_000_000;

export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("query", argv, FLAGS, { min: 2, max: 2, names: ["RESOURCE", "MESSAGE"] });
  if (values.help) {
    process.stdout.write(QUERY_HELP);
    return 0;
  }
  const [resource, message] = positionals as [string, string];
  const timeoutMs = msFlag(values.timeout as string | undefined, "--timeout") ?? 2000;
  const readTermination =
    terminationFlag(values["read-termination"] as string | undefined, "--read-termination") ?? "\n";
  const writeTermination =
    terminationFlag(values["write-termination"] as string | undefined, "--write-termination") ?? "\n";
  const baudRate = wholeFlag(
    values["baud-rate"] as string | undefined,
    "--baud-rate",
    "a whole number of bits per second",
    1,
    MAX_BAUD_RATE,
  );
  if (message === "")
    throw new UsageError("query: MESSAGE is empty (an instrument needs a command or a query such as '*IDN?')");
  try {
    parseResourceName(resource);
  } catch (e) {
    throw new UsageError(`query: ${(e as Error).message}`);
  }
  const visa = namedVisaLibrary(values["visa-library"] as string | undefined);
  if (visa) await requireVisaLibrary("query", visa);
  const rm = new ResourceManager({ visaLibrary: visa?.library });
  try {
    const inst = await rm.open(resource, { timeoutMs, baudRate, readTermination, writeTermination });
    if (!message.trim().endsWith("?")) {
      await inst.write(message);
      return 0;
    }
    const answer = await readAnswer(inst, message).catch((e: unknown) => {
      throw e instanceof DeviceTimeoutError ? withTerminationHint(e, message, inst) : e;
    });
    await writeStdout(Buffer.concat([answer, Buffer.from("\n")]));
  } finally {
    await rm.close();
  }
  return 0;
}

/**
 * The answer's bytes without the read termination. A definite-length block (#<n><length><data>) is read
 * whole even when its data holds the termination; a text answer loses trailing CR/LF, which a device
 * ending in "\r\n" leaves when only "\n" is the read termination.
 */
async function readAnswer(inst: MessageInstrument, message: string): Promise<Buffer> {
  await inst.write(message);
  const first = Buffer.from(await inst.readRaw());
  const length = blockLength(first);
  if (length === null) return first.subarray(0, first.length - trailingLineEnds(first));
  // Read without a termination, the block arrives with the device's line end after it.
  if (first.length >= length) return first.subarray(0, Math.max(length, first.length - trailingLineEnds(first)));
  // The read stopped at a termination inside the data: it belongs to the block, and the rest follows.
  const term = Buffer.from(inst.readTermination);
  const rest = await inst.readBytes(Math.max(0, length - first.length - term.length));
  return Buffer.concat([first, term, rest]);
}

/** The whole length (header included) of the IEEE 488.2 definite-length block `bytes` starts with. */
function blockLength(bytes: Buffer): number | null {
  const m = /^#([1-9])/.exec(bytes.toString("latin1", 0, 2));
  if (!m) return null;
  const digits = Number(m[1]);
  const count = bytes.toString("latin1", 2, 2 + digits);
  return /^\d+$/.test(count) && count.length === digits ? 2 + digits + Number(count) : null;
}

function trailingLineEnds(bytes: Buffer): number {
  let n = 0;
  while (n < bytes.length && (bytes[bytes.length - 1 - n] === 0x0a || bytes[bytes.length - 1 - n] === 0x0d)) n++;
  return n;
}

/** A query that times out has most often been sent or answered with another termination than the device's. */
function withTerminationHint(e: DeviceTimeoutError, message: string, inst: MessageInstrument): DeviceTimeoutError {
  const show = (t: string) => (t === "" ? "no termination" : `'${JSON.stringify(t).slice(1, -1)}'`);
  const other = inst.writeTermination === "\r\n" ? "\\n" : "\\r\\n";
  const hint =
    `no answer ending in ${show(inst.readTermination)} within ${inst.timeoutMs} ms to ${show(message)} + ${show(inst.writeTermination)}: ` +
    `if the instrument uses other terminations, name them, e.g. --write-termination '${other}' --read-termination '${other}'`;
  return new DeviceTimeoutError(`${e.message}; ${hint}`, e.context, { cause: e });
}

/** Resolves once the bytes are handed to stdout: the process exits right after, even into a pipe. */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
}
