import { describe, expect, it } from 'vitest';
import { OTHER_QUEUES } from '../../../core/reroute/reroute-counters.js';
import { addLeftInSets, MAX_LEFT_NAME_BYTES, MAX_LEFT_QUEUES, queueNamedBy, UNPARSABLE_ENTRIES, type LeftInSets } from '../../../core/transfer/set-leftovers.js';
import { addTransferCounters, emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';

const total = (queues: Record<string, number>) => Object.values(queues).reduce((a, b) => a + b, 0);

describe('set leftovers by queue (TransferCounters.leftInSets)', () => {
  it('names the queue Sidekiq reads: `default` without one, unparsable apart', () => {
    expect(queueNamedBy(Buffer.from('{"class":"A","queue":"mailers","args":[]}'))).toBe('mailers');
    expect(queueNamedBy(Buffer.from('{"class":"A","args":[]}'))).toBe('default');
    expect(queueNamedBy(Buffer.from('{"class":"A","queue":"mai'))).toBe(UNPARSABLE_ENTRIES);
  });

  it('stays within its bounds per set whatever the source holds, every entry counted', () => {
    // Three sets, each with 1,000 queues of 500-byte names: as a run's totals add its three items.
    const totals = emptyTransferCounters();
    for (const set of ['schedule', 'retry', 'dead']) {
      const more: LeftInSets = { [set]: {} };
      for (let q = 0; q < 1000; q++) more[set]![`${String(q).padStart(4, '0')}${'x'.repeat(496)}`] = q + 1;
      addTransferCounters(totals, { ...emptyTransferCounters(), leftInSets: more }, undefined, 'beside');
    }
    for (const set of ['schedule', 'retry', 'dead']) {
      const queues = totals.leftInSets![set]!;
      expect(total(queues)).toBe((1000 * 1001) / 2);
      const named = Object.keys(queues).filter((q) => q !== OTHER_QUEUES);
      expect(named.length).toBeLessThanOrEqual(MAX_LEFT_QUEUES);
      expect(named.reduce((sum, q) => sum + Buffer.byteLength(q), 0)).toBeLessThanOrEqual(MAX_LEFT_NAME_BYTES);
      expect(queues[OTHER_QUEUES]).toBeGreaterThan(0);
    }
    expect(Buffer.byteLength(JSON.stringify(totals.leftInSets))).toBeLessThan(7 * 1024);
  });

  it('adds two counts of the same set queue by queue', () => {
    const into: LeftInSets = { retry: { mailers: 1 } };
    addLeftInSets(into, { retry: { mailers: 2, default: 1 }, dead: { old: 4 } });
    expect(into).toEqual({ retry: { mailers: 3, default: 1 }, dead: { old: 4 } });
  });
});
