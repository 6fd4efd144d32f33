// The editor's inline check: POST /api/config/check takes a configuration's text (not saved) and answers
// every problem with its line and column, checked as serve checks a file; GET /api/config/schema is the
// JSON Schema the editor completes keys from.
import { CHECKED_FORMATS, type CheckedFormat, checkConfigText, formatOf } from "../cli/configCheck.ts";
import { MAX_CONFIG_BYTES } from "../cli/configText.ts";
import { HttpError } from "../server/errors.ts";
import { configTextBody } from "./body.ts";
import type { ConfigCheck } from "./wire.ts";

/** The check of the posted text, in `?format=` or else the format of the launcher's configuration file. */
export async function checkRequest(req: Request, url: URL, configFile: string | null): Promise<ConfigCheck> {
  const asked = url.searchParams.get("format");
  if (asked !== null && !(CHECKED_FORMATS as readonly string[]).includes(asked))
    throw new HttpError(400, "InvalidRequest", `format must be one of ${CHECKED_FORMATS.join(", ")}`, {
      format: asked,
    });
  const format = (asked as CheckedFormat | null) ?? (configFile ? formatOf(configFile) : null) ?? "yaml";
  return checkConfigText(await configTextBody(req, MAX_CONFIG_BYTES), format);
}
