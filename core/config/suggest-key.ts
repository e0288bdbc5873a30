/**
 * The known key an unknown one was probably meant to be: the same word in another spelling
 * (`page_size`, `PageSize` → `pageSize`), or one or two typing mistakes away (`rulez` → `rules`).
 * Candidates from other sections are given with their section (`region` → `aws.region`), since
 * putting a key at the wrong level is as common as misspelling it.
 */
export function suggestKey(unknown: string, candidates: readonly string[]): string | undefined {
  const wanted = normalize(unknown);
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = editDistance(wanted, normalize(key.slice(key.lastIndexOf('.') + 1)));
    if (!best || distance < best.distance) best = { key, distance };
  }
  const tolerance = Math.max(1, Math.floor(wanted.length / 4));
  return best && best.distance <= tolerance ? best.key : undefined;
}

const normalize = (key: string) => key.toLowerCase().replace(/[-_\s]/g, '');

/** Levenshtein distance, with a swap of two neighbours counted as one mistake. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
