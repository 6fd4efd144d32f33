// `labdaemon resources`: the instruments this PC can reach.
import { listResources } from "../io/index.ts";
import { parseFlags } from "./args.ts";
import { RESOURCES_HELP } from "./help.ts";
import { namedVisaLibrary, requireVisaLibrary } from "./visaLibrary.ts";

export async function resourcesCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    "resources",
    argv,
    { "visa-library": { type: "string" } },
    { min: 0, max: 0, names: [] },
  );
  if (values.help) {
    process.stdout.write(RESOURCES_HELP);
    return 0;
  }
  const visa = namedVisaLibrary(values["visa-library"] as string | undefined);
  if (visa) await requireVisaLibrary("resources", visa);
  const found = await listResources({ visaLibrary: visa?.library });
  for (const r of found) console.log(r);
  if (found.length === 0)
    console.error("no instruments found (LAN instruments are not discoverable: query them by address)");
  return 0;
}
