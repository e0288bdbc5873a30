/**
 * A comma-separated list of names as an option gives it (`--classes A,B`, `--sets`,
 * `--retired-queues`): spaces around a name are ignored (`A, B` is A and B: no class, set or queue
 * name of Sidekiq's holds one), a name given twice counts once. An empty entry (`A,,B`, `A,`, `,`)
 * is no name: dropped, it hid a name left out of the list (`A,$MISSING,B`), so it is a problem,
 * said with its position (emptyEntriesProblem).
 */
export function commaList(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** The problem with `text`'s empty entries (their 1-based positions), or undefined when it has none. */
export function emptyEntriesProblem(text: string, what: string, example: string): string | undefined {
  const empty = text.split(',').flatMap((s, i) => (s.trim() === '' ? [i + 1] : []));
  if (empty.length === 0) return undefined;
  const where = empty.length === 1 ? `entry ${empty[0]} of ${JSON.stringify(text)} is empty` : `entries ${empty.slice(0, -1).join(', ')} and ${empty.at(-1)} of ${JSON.stringify(text)} are empty`;
  return `${where}: give ${what}, comma-separated (spaces around a name are ignored), e.g. ${example}`;
}
