/** Commander helper for repeatable options: `--catalog a --catalog b` → ['a', 'b']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
