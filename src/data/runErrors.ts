// The errors of the runs API: a run id that is not known, an action the run's state does not allow, and a
// recording whose file could not be created.
import { LabDaemonError } from "../core/errors.ts";
import { clip } from "../core/clip.ts";

export class RunNotFoundError extends LabDaemonError {
  override name = "RunNotFound";
}
export class RunStateError extends LabDaemonError {
  override name = "RunState";
}
export class RunFileError extends LabDaemonError {
  override name = "RunFileError";
}

export const notFound = (runId: string) =>
  new RunNotFoundError(`No run found with ID: '${clip(runId, 140)}'`, { run_id: clip(runId, 140) });
