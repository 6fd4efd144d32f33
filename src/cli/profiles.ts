// `labdaemon profiles [--config FILE]`: the configurations `serve` would find, one line each, so a user
// sees which --profile to choose without starting anything.
import { parseFlags } from "./args.ts";
import {
  discoverConfig,
  fromObject,
  loadProfiles,
  searchedPlaces,
  type LabConfig,
  type ProfileSummary,
} from "./config.ts";
import { PROFILES_HELP } from "./help.ts";
import { simLab, SIM_LAB_LABEL } from "./simLab.ts";

const DEFAULT_PORT = 5000;

export async function profilesCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags("profiles", argv, { config: { type: "string" } }, { min: 0, max: 0, names: [] });
  if (values.help) {
    process.stdout.write(PROFILES_HELP);
    return 0;
  }
  const found = discoverConfig({
    flag: values.config as string | undefined,
    env: process.env.LABDAEMON_CONFIG || undefined,
  });
  if (!found) {
    console.log(`${SIM_LAB_LABEL}: no lab configuration found (${searchedPlaces()})`);
    process.stdout.write(table([{ profile: null, isDefault: true, config: fromObject(simLab, SIM_LAB_LABEL).config }]));
    return 0;
  }
  const profiles = await loadProfiles(found.file);
  console.log(`${found.file} (via ${found.via})`);
  process.stdout.write(table(profiles));
  if (profiles.length > 1) {
    console.log(
      profiles.some((p) => p.isDefault)
        ? "* the default; choose another with: labdaemon serve --profile NAME"
        : "no default: choose one with: labdaemon serve --profile NAME",
    );
  }
  return 0;
}

/** Aligned columns: PROFILE NAME PORT DEVICES DESCRIPTION. */
export function table(profiles: ProfileSummary[]): string {
  const rows = [
    ["PROFILE", "NAME", "PORT", "DEVICES", "DESCRIPTION"],
    ...profiles.map((p) => [
      p.profile === null ? "(single)" : `${p.profile}${p.isDefault && profiles.length > 1 ? " *" : ""}`,
      p.config.name ?? "-",
      String(p.config.port ?? DEFAULT_PORT),
      devices(p.config),
      p.config.description ?? "",
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}

function devices(cfg: LabConfig): string {
  const ids = Object.entries(cfg.devices).map(([id, d]) => `${id} (${d.type})`);
  return ids.length === 0 ? "none" : ids.join(", ");
}
