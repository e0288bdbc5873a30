import { describe, expect, it } from 'vitest';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import { handedApart, setGoesApart, setsMayGoApart } from '../../../core/workflow/set-apart.js';
import { BATCH_SIZE } from '../../../core/workflow/work-list.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';

// Which set items run in an execution of their own (core/workflow/set-apart.ts). The whole runs
// (root, hand-off, continuation) are in test/workflow/cli-sets-apart.test.ts; here each condition
// of the decision alone, at its edge, since a wrong one either makes a set wait for the root's
// batches again or hands on an item that must not be (a dry run records no executions, a
// continuation handed on again would never page).
const settings = { setsApart: true as const, dryRun: false, pageSize: 1000, maxIterations: 50 };
const item = (over: Partial<WorkItem> = {}): WorkItem => ({ kind: 'set', name: 'schedule', cursor: null, total: 1001, done: false, iteration: 0, counters: emptyTransferCounters(), ...over });

describe('setGoesApart', () => {
  it('hands on a set of more than one page, at its first task in the execution that listed it', () => {
    expect(setGoesApart(settings, item())).toBe(true);
  });

  it.each<[string, Partial<typeof settings> | Record<string, unknown>, Partial<WorkItem>]>([
    ['a set of exactly one page (done in one page, sooner than an execution starts)', {}, { total: 1000 }],
    ['a set whose size was not planned', {}, { total: undefined }],
    ['a queue', {}, { kind: 'queue' }],
    ['an item already continuing (a continuation handed on again would never page)', {}, { continues: 'arn:root' }],
    ['an item past its first task', {}, { iteration: 1 }],
    ['an item done', {}, { done: true }],
    ['a dry run (it records no executions)', { dryRun: true }, {}],
    ['settings without setsApart (an older plan, or a list of one batch)', { setsApart: undefined }, {}],
  ])('not %s', (_, s, i) => {
    expect(setGoesApart({ ...settings, ...s } as typeof settings, item(i))).toBe(false);
  });
});

describe('setsMayGoApart', () => {
  it('only for a list longer than one batch, in a run that writes, without --rate-limit', () => {
    expect(setsMayGoApart(BATCH_SIZE + 1, { dryRun: false })).toBe(true);
    expect(setsMayGoApart(BATCH_SIZE, { dryRun: false })).toBe(false);
    expect(setsMayGoApart(BATCH_SIZE + 1, { dryRun: true })).toBe(false);
    expect(setsMayGoApart(BATCH_SIZE + 1, { dryRun: false, rateLimit: 100 })).toBe(false);
  });
});

describe('handedApart', () => {
  it('is the item at its loop cap, its cursor and counters unchanged', () => {
    const counters = { ...emptyTransferCounters(), written: 7 };
    const at = item({ cursor: { start: 3 }, counters });
    expect(handedApart(settings, at)).toEqual({ ...at, iteration: 50 });
    // Never lowers an item's count past the cap.
    expect(handedApart(settings, item({ iteration: 60 })).iteration).toBe(60);
  });
});
