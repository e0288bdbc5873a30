import { describe, expect, it } from 'vitest';
import { MAX_CLASSES } from '../../../core/reroute/reroute-counters.js';
import { addByClass, addTransferCounters, emptyTransferCounters, OTHER_CLASSES, tallyCarried, type TransferCounters } from '../../../core/transfer/transfer-counters.js';

const sample = (jid: string) => ({ jid, className: 'A', reason: 'already in retry on the target' });

describe('transfer counters', () => {
  it('start at zero, with no samples, no writes and no selective counts', () => {
    expect(emptyTransferCounters()).toStrictEqual({ claimed: 0, written: 0, duplicates: 0, resumed: 0, rerouted: 0, unmapped: 0, unparsable: 0, conflicts: 0, leftOnSource: 0, conflictSamples: [], writtenTo: {} });
    // A fresh object each time: adding to one does not change the next.
    addTransferCounters(emptyTransferCounters(), { ...emptyTransferCounters(), claimed: 1 });
    expect(emptyTransferCounters().claimed).toBe(0);
  });

  it('a loss of a copy found by later work counts what the earlier work had acknowledged before it; items side by side add their own', () => {
    const slice = (written: number, recopied = 0): TransferCounters => ({ ...emptyTransferCounters(), written, duplicates: 0, ...(recopied > 0 ? { recopied } : {}) });
    // Slices in order: 10 acknowledged, then one that found its copy lost (written again), then 10 more.
    const item = [slice(10), slice(10, 10), slice(10)].reduce((into, more) => addTransferCounters(into, more), emptyTransferCounters());
    expect(item).toMatchObject({ written: 30, recopied: 10, acknowledgedBeforeLoss: 10 });
    // A loss in a first slice: nothing acknowledged before it (no field).
    expect(addTransferCounters(emptyTransferCounters(), slice(10, 10)).acknowledgedBeforeLoss).toBeUndefined();
    // A later page of the item after its earlier pages (page-step): the earlier pages' 30 and the page's own 10 before its loss.
    const page = addTransferCounters(slice(10), slice(10, 10));
    expect(addTransferCounters(addTransferCounters(emptyTransferCounters(), item), page)).toMatchObject({ written: 50, recopied: 20, acknowledgedBeforeLoss: 40 });
    // Duplicates (written before, acknowledged) count as acknowledged too.
    expect(addTransferCounters({ ...emptyTransferCounters(), duplicates: 4 }, slice(10, 10)).acknowledgedBeforeLoss).toBe(4);
    // A run's totals add items side by side: each item's own count, summed; never one item's writes as another's.
    const totals = emptyTransferCounters();
    for (const counters of [slice(100), item, addTransferCounters(slice(5), slice(5, 5))]) addTransferCounters(totals, counters, undefined, 'beside');
    expect(totals).toMatchObject({ written: 140, recopied: 15, acknowledgedBeforeLoss: 15 });
  });

  it('add up every count, writes per key, samples up to five, and selective counts only where present', () => {
    const into: TransferCounters = { ...emptyTransferCounters(), claimed: 1, uniqueLocked: 2, conflictSamples: [sample('a'), sample('b'), sample('c')], writtenTo: { a: 1 } };
    const more: TransferCounters = {
      claimed: 2, written: 3, duplicates: 4, resumed: 5, rerouted: 6, unmapped: 7, unparsable: 8, conflicts: 9, leftOnSource: 10, uniqueLocked: 11,
      conflictSamples: [sample('d'), sample('e'), sample('f')],
      writtenTo: { a: 2, b: 3 },
      examined: 12, vanished: 13, unparsableLeft: 14,
      byClass: { A: { 'queue:a': 1, retry: 2 }, B: { dead: 3 } },
    };

    const sum = addTransferCounters(into, more);

    expect(sum).toBe(into);
    expect(sum).toStrictEqual({
      claimed: 3, written: 3, duplicates: 4, resumed: 5, rerouted: 6, unmapped: 7, unparsable: 8, conflicts: 9, leftOnSource: 10, uniqueLocked: 13,
      conflictSamples: [sample('a'), sample('b'), sample('c'), sample('d'), sample('e')],
      writtenTo: { a: 3, b: 3 },
      examined: 12, vanished: 13, unparsableLeft: 14,
      byClass: { A: { 'queue:a': 1, retry: 2 }, B: { dead: 3 } },
    });
    addTransferCounters(sum, { ...emptyTransferCounters(), examined: 1, byClass: { A: { retry: 5 } } });
    expect(sum).toMatchObject({ examined: 13, vanished: 13, unparsableLeft: 14, byClass: { A: { 'queue:a': 1, retry: 7 }, B: { dead: 3 } } });
  });

  it('a whole-key transfer\'s counters gain no selective counts, and an older state without samples gets some', () => {
    const old = { ...emptyTransferCounters(), conflictSamples: undefined } as unknown as TransferCounters;
    const sum = addTransferCounters(old, { ...emptyTransferCounters(), conflictSamples: [sample('a')] });
    expect(sum).toStrictEqual({ ...emptyTransferCounters(), uniqueLocked: 0, conflictSamples: [sample('a')] });
    expect('examined' in sum || 'vanished' in sum || 'unparsableLeft' in sum || 'byClass' in sum).toBe(false);
    expect(addTransferCounters(emptyTransferCounters(), { ...emptyTransferCounters(), conflictSamples: undefined } as unknown as TransferCounters).conflictSamples).toEqual([]);
  });

  it('counts by class and source key, one by default', () => {
    const counters = emptyTransferCounters();
    addByClass(counters, 'A', 'queue:a');
    addByClass(counters, 'A', 'queue:a', 4);
    addByClass(counters, 'A', 'retry');
    addByClass(counters, 'B', 'retry', 2);
    expect(counters.byClass).toStrictEqual({ A: { 'queue:a': 5, retry: 1 }, B: { retry: 2 } });
  });

  it('tallies how carried jobs were treated, and those with a unique-jobs lock', () => {
    const counters = emptyTransferCounters();
    tallyCarried(counters, [{ kind: 'rerouted', uniqueLock: true }, { kind: 'rerouted' }, { kind: 'unmapped' }, { kind: 'unparsable' }, { kind: 'as-is', uniqueLock: false }, { kind: 'as-is' }]);
    expect(counters).toStrictEqual({ ...emptyTransferCounters(), rerouted: 2, unmapped: 1, unparsable: 1, uniqueLocked: 1 });
    tallyCarried(counters, [{ kind: 'unmapped', uniqueLock: true }]);
    expect(counters).toMatchObject({ unmapped: 2, uniqueLocked: 2 });
  });
});

describe('transfer counters by class stay bounded', () => {
  it(`keeps at most ${MAX_CLASSES} classes and adds the jobs of the rest up under ${JSON.stringify(OTHER_CLASSES)}, none lost`, () => {
    const counters = emptyTransferCounters();
    for (let i = 0; i < MAX_CLASSES + 25; i++) addByClass(counters, `Worker${i}`, 'queue:default', 2);
    addByClass(counters, 'Worker0', 'retry');

    expect(Object.keys(counters.byClass!)).toHaveLength(MAX_CLASSES + 1);
    expect(counters.byClass!.Worker0).toStrictEqual({ 'queue:default': 2, retry: 1 });
    expect(counters.byClass![OTHER_CLASSES]).toStrictEqual({ 'queue:default': 50 });
    const total = Object.values(counters.byClass!).flatMap((perKey) => Object.values(perKey)).reduce((a, b) => a + b, 0);
    expect(total).toBe(2 * (MAX_CLASSES + 25) + 1);
  });

  it('keeps the bound when many items are added up', () => {
    const sum = emptyTransferCounters();
    for (let item = 0; item < 10; item++) {
      const one = emptyTransferCounters();
      for (let i = 0; i < MAX_CLASSES; i++) addByClass(one, `Item${item}Worker${i}`, `queue:q${item}`);
      addTransferCounters(sum, one);
    }
    expect(Object.keys(sum.byClass!)).toHaveLength(MAX_CLASSES + 1);
    expect(sum.byClass![OTHER_CLASSES]).toStrictEqual(Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`queue:q${i + 1}`, MAX_CLASSES])));
  });
});
