import { InvalidRequestError } from "./errors.ts";
import { clip } from "./clip.ts";

/** Device and task ids: safe in URLs, logs and file names. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function checkId(kind: "device" | "task" | "device type" | "task type", id: unknown): string {
  if (typeof id !== "string") {
    throw new InvalidRequestError(`${kind} id must be a string, got ${id === null ? "null" : typeof id}`, {
      [kind]: String(id),
    });
  }
  if (!ID_PATTERN.test(id)) {
    throw new InvalidRequestError(
      `invalid ${kind} id ${JSON.stringify(clip(id, 140))}: ids must match ${ID_PATTERN.source}`,
      { id: clip(id, 140) },
    );
  }
  return id;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
