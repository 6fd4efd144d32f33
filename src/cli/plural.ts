// Counts in messages: "1 device", "2 devices".

/** `n` and the noun, in the plural unless n is 1; `many` for nouns that do not just take an "s". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
