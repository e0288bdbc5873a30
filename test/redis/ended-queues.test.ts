// The record of the queues whose items ended in each execution of a run (core/workflow/ended-queues.ts),
// read by the run's last execution to look for jobs put there after their item ended. An execution
// superseded by a later start of the run (`start --resume`) may still summarize after that start's
// executions recorded theirs: it must not overwrite them (the later start's last execution would
// then skip that queue), and the later start must not read the superseded one's counters.
import { describe, expect, it } from 'vitest';
import { emptyTransferCounters } from '../../core/transfer/transfer-counters.js';
import { endedQueuesKey, forgetEndedQueues, readEndedQueues, readEndedSets, recordEndedQueues, recordEndedSets } from '../../core/workflow/ended-queues.js';
import { emptyTally, type RunTally } from '../../core/workflow/run-tally.js';
import type { RunSettings } from '../../core/workflow/work-item.js';
import { privateRedis } from '../support/private-redis.js';

const redis = privateRedis();

const settings = (plannedAt: number, plannedBy: string) => ({ runId: 'r', mode: 'transfer', source: 'source', target: 'target', plannedAt, plannedBy, queues: true }) as unknown as RunSettings;
function tally(queues: Record<string, number>, failed = 0): RunTally {
  const t = emptyTally('transfer');
  t.listed = Object.entries(queues).map(([name, leftOnSource]) => ({ kind: 'queue' as const, name, counters: { ...emptyTransferCounters(), leftOnSource } }));
  t.listed.push({ kind: 'set', name: 'retry', counters: emptyTransferCounters() });
  t.counts = { finished: t.listed.length - failed, failed, continued: 0 };
  return t;
}

describe('ended-queues', () => {
  it('each start of the run reads its own executions\' queues only; a superseded execution overwrites nothing of the later start\'s; sets and executions with a failed item are not recorded', async () => {
    const c = redis.client();
    const later = settings(2000, 'arn:B');
    const earlier = settings(1000, 'arn:A');
    await recordEndedQueues(c, '', later, tally({ a: 0 }));
    await recordEndedQueues(c, '', later, tally({ b: 2 }));
    // The superseded execution summarizes after them, with the same queue.
    await recordEndedQueues(c, '', earlier, tally({ a: 7 }));
    // An execution with a failed item: none of its queues.
    await recordEndedQueues(c, '', later, tally({ c: 0 }, 1));

    const read = await readEndedQueues(c, '', later);
    expect(read.map((l) => [l.kind, l.name, (l.counters as { leftOnSource: number }).leftOnSource])).toEqual([
      ['queue', 'a', 0],
      ['queue', 'b', 2],
    ]);
    expect((await readEndedQueues(c, '', earlier)).map((l) => l.name)).toEqual(['a']);
    // It expires with the run's executions, and the last execution deletes it.
    expect(await c.ttl(endedQueuesKey('', 'r'))).toBeGreaterThan(6 * 24 * 3600);
    await forgetEndedQueues(c, '', 'r');
    expect(await c.exists(endedQueuesKey('', 'r'))).toBe(0);
  });

  it('an execution that ended sets only records nothing (and does not fail); queues are read in name order, under a prefix, a field it cannot read left out', async () => {
    const c = redis.client();
    const s = { ...settings(3000, 'arn:C'), runId: 'r2' } as RunSettings;
    const setsOnly = emptyTally('transfer');
    setsOnly.listed = [{ kind: 'set', name: 'retry', counters: emptyTransferCounters() }];
    setsOnly.counts = { finished: 1, failed: 0, continued: 0 };
    await recordEndedQueues(c, 'p:', s, setsOnly);
    expect(await c.exists(endedQueuesKey('p:', 'r2'))).toBe(0);

    // Written in the other order (a hash this small gives its fields back as written).
    await recordEndedQueues(c, 'p:', s, tally({ zeta: 1 }));
    await recordEndedQueues(c, 'p:', s, tally({ alpha: 2, mid: 3 }));
    await c.hset(endedQueuesKey('p:', 'r2'), '3000\narn:C\nbroken', 'not json');

    const read = await readEndedQueues(c, 'p:', s);
    expect(read).toEqual([
      { kind: 'queue', name: 'alpha', counters: { ...emptyTransferCounters(), leftOnSource: 2 } },
      { kind: 'queue', name: 'mid', counters: { ...emptyTransferCounters(), leftOnSource: 3 } },
      { kind: 'queue', name: 'zeta', counters: { ...emptyTransferCounters(), leftOnSource: 1 } },
    ]);
    expect(await c.exists(endedQueuesKey('', 'r2'))).toBe(0);
  });

  it('tells two starts apart by either their time or their planner alone, and sorts more queues than a few', async () => {
    const c = redis.client();
    const base = { ...settings(5000, 'arn:D'), runId: 'r3' } as RunSettings;
    const sameTime = { ...base, plannedBy: 'arn:E' } as RunSettings;
    const samePlanner = { ...base, plannedAt: 6000 } as RunSettings;
    await recordEndedQueues(c, '', base, tally({ f: 0, e: 0, d: 0, c: 0, b: 0, a: 0 }));
    await recordEndedQueues(c, '', sameTime, tally({ x: 0 }));
    await recordEndedQueues(c, '', samePlanner, tally({ y: 0 }));

    expect((await readEndedQueues(c, '', base)).map((l) => l.name)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect((await readEndedQueues(c, '', sameTime)).map((l) => l.name)).toEqual(['x']);
    expect((await readEndedQueues(c, '', samePlanner)).map((l) => l.name)).toEqual(['y']);
  });

  it("a transfer's sets are recorded beside its queues, each read apart (a queue named like a set field too), each start its own, not with a failed item", async () => {
    const c = redis.client();
    const s = { ...settings(7000, 'arn:F'), runId: 'r4' } as RunSettings;
    const other = { ...s, plannedAt: 8000 } as RunSettings;
    const withSets = tally({ a: 1, 'set\n7000\narn:F\nretry': 0 });
    (withSets.listed.find((l) => l.name === 'retry')!.counters as { leftOnSource: number }).leftOnSource = 4;
    await recordEndedQueues(c, '', s, withSets);
    await recordEndedSets(c, '', s, withSets);
    await recordEndedSets(c, '', other, tally({}));
    await recordEndedSets(c, '', s, tally({ b: 0 }, 1));

    expect((await readEndedQueues(c, '', s)).map((l) => [l.kind, l.name])).toEqual([
      ['queue', 'a'],
      ['queue', 'set\n7000\narn:F\nretry'],
    ]);
    expect((await readEndedSets(c, '', s)).map((l) => [l.kind, l.name, (l.counters as { leftOnSource: number }).leftOnSource])).toEqual([['set', 'retry', 4]]);
    expect((await readEndedSets(c, '', other)).map((l) => l.name)).toEqual(['retry']);
    expect(await c.ttl(endedQueuesKey('', 'r4'))).toBeGreaterThan(6 * 24 * 3600);
  });
});
