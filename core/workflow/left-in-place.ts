/**
 * Jobs a set or queue kept where they were. A re-route leaves unmapped, unparsable and conflicting
 * jobs (the quarantined among them are counted apart: they left); a transfer carries unmapped and
 * unparsable jobs as they are, and leaves conflicts and the unparsable jobs a selection never takes.
 */
export function leftInPlace(c: Partial<Record<string, number>>, reroute: boolean): number {
  if (!reroute) return (c['conflicts'] ?? 0) + (c['unparsableLeft'] ?? 0);
  return Math.max(0, (c['unmapped'] ?? 0) + (c['unparsable'] ?? 0) + (c['conflicts'] ?? 0) - (c['quarantined'] ?? 0));
}
