// Cutting text a client sent (ids, names, keys) before it goes into an error message or context.

/**
 * `text` when it has at most `max` characters; otherwise its start and "…", `max` characters in all, so a
 * reader sees it was cut. A surrogate pair is never split.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
