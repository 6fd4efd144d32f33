// `labdaemon config --schema`: the JSON Schema of a lab configuration file, for editors (completion and
// checks as one types) and for other tools that write configurations.
import { parseFlags, UsageError } from "./args.ts";
import { configJsonSchema } from "./configSchema.ts";
import { CONFIG_HELP } from "./help.ts";

export async function configCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags("config", argv, { schema: { type: "boolean" } }, { min: 0, max: 0, names: [] });
  if (values.help) {
    process.stdout.write(CONFIG_HELP);
    return 0;
  }
  if (!values.schema) throw new UsageError("config: say what to print: --schema (see labdaemon config --help)");
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
