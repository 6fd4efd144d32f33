// Request bodies the launcher's API reads: at most MAX_BODY_BYTES, refused with the error envelope (413)
// before more is read; JSON objects for commands, UTF-8 text for configurations.
import { HttpError } from "../server/errors.ts";
import { clip } from "../core/clip.ts";

/** Bodies the API takes are small JSON or a configuration file (at most MAX_CONFIG_BYTES). */
export const MAX_BODY_BYTES = 16 << 20;

const tooLarge = (limit: number) =>
  new HttpError(413, "PayloadTooLarge", `the body is larger than ${limit} bytes`, { limit });

/** The body's bytes, refused as soon as it passes `limit` (by its Content-Length, or while it streams in). */
export async function bodyBytes(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of req.body) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, "InvalidRequest", `cannot read the body: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** The body as text: strict UTF-8. */
export async function textBody(req: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const bytes = await bodyBytes(req, limit);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "InvalidRequest", "the body is not UTF-8 text");
  }
}

/** The body as a JSON object; an empty body is `{}`. */
export async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const text = await textBody(req);
  if (text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "InvalidRequest", `the body is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new HttpError(400, "InvalidRequest", "the body must be a JSON object");
  return v as Record<string, unknown>;
}

/**
 * Media types whose body is text a configuration can be written in; urlencoded is what `curl --data-binary`
 * sends unless told otherwise, and the body is read as it is.
 */
const TEXT_TYPES = /^(text\/[\w.+-]+|application\/(json|yaml|x-yaml|javascript|typescript|x-www-form-urlencoded))$/;

/** A configuration's text: a textual Content-Type (UTF-8 if a charset is named) and UTF-8 bytes. */
export async function configTextBody(req: Request, limit: number): Promise<string> {
  const type = req.headers.get("content-type");
  if (type !== null) {
    const [media, ...params] = type
      .toLowerCase()
      .split(";")
      .map((s) => s.trim());
    const charset = params
      .find((p) => p.startsWith("charset="))
      ?.slice(8)
      .replace(/"/g, "");
    if (!TEXT_TYPES.test(media ?? "") || (charset !== undefined && charset !== "utf-8" && charset !== "utf8"))
      throw new HttpError(
        415,
        "UnsupportedMediaType",
        `the body must be UTF-8 text (text/plain), not ${clip(type, 100)}`,
        {
          content_type: clip(type, 100),
        },
      );
  }
  return textBody(req, limit);
}
