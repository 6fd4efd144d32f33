// The launcher API's shapes as the page reads them: the launcher's own wire types, plus GET /api/config.
import type { ConfigProblem } from "../../src/launcher/wire.ts";

export type {
  ConfigCheck,
  ConfigProblem,
  LogLine,
  OrphanView as Orphan,
  ProfileView as Profile,
  ServerState,
} from "../../src/launcher/wire.ts";

export interface ConfigInfo {
  file: string | null;
  exists: boolean;
  via?: string;
  format?: string;
  text?: string;
  error?: ConfigProblem | null;
  searched?: string[];
  suggested?: string;
}
