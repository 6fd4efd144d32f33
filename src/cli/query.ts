// `labdaemon query RESOURCE MESSAGE`: one message to one instrument, for checking the wiring.
import { ResourceManager } from "../io/index.ts";
import { msFlag, parseFlags, wholeFlag } from "./args.ts";
import { QUERY_HELP } from "./help.ts";

const FLAGS = {
  timeout: { type: "string" },
  "baud-rate": { type: "string" },
  "visa-library": { type: "string" },
} as const;

export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("query", argv, FLAGS, { min: 2, max: 2, names: "RESOURCE and MESSAGE" });
  if (values.help) {
    process.stdout.write(QUERY_HELP);
    return 0;
  }
  const [resource, message] = positionals as [string, string];
  const timeoutMs = msFlag(values.timeout as string | undefined, "--timeout") ?? 2000;
  const baudRate = wholeFlag(values["baud-rate"] as string | undefined, "--baud-rate", "a whole number of bits per second");
  const rm = new ResourceManager({ visaLibrary: values["visa-library"] as string | undefined });
  try {
    const inst = await rm.open(resource, { timeoutMs, baudRate });
    if (message.trim().endsWith("?")) console.log((await inst.query(message)).trimEnd());
    else await inst.write(message);
  } finally {
    await rm.close();
  }
  return 0;
}
