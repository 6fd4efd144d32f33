// Names that come from requests or tasks and end up in files: checked before they touch a path or a dataset.
import { InvalidRequestError } from "../core/errors.ts";
import { clip } from "../core/clip.ts";

/** A recording's name (part of its file name): no separators, no dots at the start, no NUL. */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A dataset path in a file: segments like RUN_NAME joined by '/'. */
const DATASET_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** Run ids are made by the server (see newRunId); anything else is not a run. */
export const RUN_ID = /^[0-9]{8}T[0-9]{6}-[A-Za-z0-9_.-]{1,64}-[0-9a-f]{6}$/;

export function checkRunName(name: unknown): string {
  if (typeof name !== "string" || !RUN_NAME.test(name) || name.includes("..")) {
    throw new InvalidRequestError(
      `invalid recording name ${JSON.stringify(clip(String(name), 80))}: use letters, digits, '_', '.', '-' (up to 64, no '..', no '/')`,
      { name: clip(String(name), 80) },
    );
  }
  return name;
}

export function checkDatasetName(name: unknown, reserved: readonly string[] = []): string {
  const segments = typeof name === "string" ? name.split("/") : [];
  if (
    typeof name !== "string" ||
    name.length > 200 ||
    !segments.every((s) => DATASET_SEGMENT.test(s) && s !== "." && s !== "..")
  ) {
    throw new InvalidRequestError(
      `invalid dataset name ${JSON.stringify(clip(String(name), 80))}: segments of letters, digits, '_', '.', '-' joined by '/', no '..'`,
      { name: clip(String(name), 80) },
    );
  }
  if (reserved.includes(segments[0]!)) {
    throw new InvalidRequestError(`dataset name '${name}' is reserved (${reserved.join(", ")})`, { name });
  }
  return name;
}

/** `20261204T163012-<label>-<6 hex>`: sortable, unique, safe as a file name. */
export function newRunId(label: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15);
  const safe =
    label
      .replace(/[^A-Za-z0-9_.-]/g, "_")
      .replace(/^\.+/, "_")
      .slice(0, 64) || "run";
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `${stamp}-${safe}-${[...rand].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
