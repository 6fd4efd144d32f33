// Splitting the bytes a client sent into messages at the query terminator; shared by the socket,
// VXI-11 and serial servers.

/** A message still without its terminator beyond this is not kept (socket: the client is dropped; serial: the
 * line is discarded up to its terminator). */
export const MAX_PENDING_BYTES = 1 << 20;

export interface Split {
  messages: string[];
  /** What follows the last terminator: the start of a message still arriving. */
  rest: string;
}

/** `pending` cut at every `term`. An empty terminator would match everywhere and never advance. */
export function splitMessages(pending: string, term: string): Split {
  if (term === "") throw new RangeError("the query terminator must not be empty");
  const messages: string[] = [];
  let from = 0;
  let at: number;
  while ((at = pending.indexOf(term, from)) >= 0) {
    messages.push(pending.slice(from, at));
    from = at + term.length;
  }
  return { messages, rest: pending.slice(from) };
}
