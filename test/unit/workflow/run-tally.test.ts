import { describe, expect, it } from 'vitest';
import { emptyCounters, type RerouteCounters } from '../../../core/reroute/reroute-counters.js';
import { emptyTally, foldResults, OTHER_DESTINATIONS, TALLY_LIMITS } from '../../../core/workflow/run-tally.js';
import type { ItemResult } from '../../../core/workflow/work-item.js';

const counters = (queue: number, moved: number): RerouteCounters => ({ ...emptyCounters(), scanned: moved, moved, movedTo: { [`dest_${queue}`]: moved } });

describe("an execution's tally", () => {
  it('counts every item but names only the first ones: its size does not grow with the number of queues or failures', () => {
    const tally = emptyTally('reroute');
    const sizes: number[] = [];
    for (let batch = 0; batch < 1_000; batch++) {
      const results: ItemResult[] = Array.from({ length: 10 }, (_, i) => {
        const q = batch * 10 + i;
        return q % 2 === 0
          ? { kind: 'queue', name: `queue_${q}`, counters: counters(q, 3), done: true }
          : { kind: 'queue', name: `queue_${q}`, counters: counters(q, 1), error: { Error: 'FatalError', Cause: JSON.stringify({ errorMessage: 'x'.repeat(5_000) }) } };
      });
      foldResults(tally, 'reroute', results);
      sizes.push(JSON.stringify(tally).length);
    }

    expect(tally.counts).toEqual({ finished: 5_000, failed: 5_000, continued: 0 });
    expect((tally.totals as RerouteCounters).moved).toBe(5_000 * 3 + 5_000);
    expect(tally.listed).toHaveLength(TALLY_LIMITS.listed);
    expect(tally.unlisted).toBe(10_000 - TALLY_LIMITS.listed);
    expect(tally.failures).toHaveLength(TALLY_LIMITS.failures);
    expect(tally.failures.every((f) => f.error.length <= TALLY_LIMITS.errorChars)).toBe(true);
    const movedTo = (tally.totals as RerouteCounters).movedTo;
    expect(Object.keys(movedTo)).toHaveLength(TALLY_LIMITS.destinations + 1);
    expect(Object.values(movedTo).reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(movedTo[OTHER_DESTINATIONS]).toBeGreaterThan(0);
    // The same size after 100 queues as after 10,000, but for the digits of the counts.
    expect(sizes.at(-1)! - sizes[9]!).toBeLessThan(64);
    expect(sizes.at(-1)!).toBeLessThan(24 * 1024);
  });

  it('leaves an item that continued in another execution to be counted there, naming the first ones', () => {
    const tally = foldResults(emptyTally('reroute'), 'reroute', [
      { kind: 'queue', name: 'big', counters: counters(1, 100), continuedIn: 'arn:aws:states:…:execution:m:1' },
      { kind: 'set', name: 'retry', counters: counters(2, 5), done: true },
    ]);

    expect(tally.counts).toEqual({ finished: 1, failed: 0, continued: 1 });
    expect((tally.totals as RerouteCounters).moved).toBe(5);
    expect(tally.continuedIn).toEqual([{ kind: 'queue', name: 'big', execution: 'arn:aws:states:…:execution:m:1' }]);
    expect(tally.listed.map((l) => l.name)).toEqual(['retry']);
  });
});
