import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { isSelected, mixedJob, SELECTED } from './selected-classes-jobs.js';

// A class-selective transfer (issue 17): only the jobs of the selected classes (by the class
// routing sees: `class`, or `wrapped` for ActiveJob) leave the shared queues and sets; every other
// job stays exactly where it was — same bytes, same place in its list, same score.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');

interface Seeded {
  /** Per source key: what the source holds afterwards (lists head to tail; sets as jobEntry). */
  readonly stayingLists: Record<string, string[]>;
  readonly stayingSets: string[];
  /** Per source queue: the selected jobs, head to tail. */
  readonly selectedLists: Record<string, string[]>;
  readonly selectedSets: string[];
  readonly byClass: Record<string, Record<string, number>>;
}

/** Two shared queues and the three sets, each a mix of selected, staying and unparsable jobs. */
async function seed(): Promise<Seeded> {
  const source = redis.source();
  const s: Seeded = { stayingLists: {}, stayingSets: [], selectedLists: {}, selectedSets: [], byClass: {} };
  const count = (className: string, key: string) => {
    const perKey = (s.byClass[className] ??= {});
    perKey[key] = (perKey[key] ?? 0) + 1;
  };
  for (const [queue, n] of [['default', 41], ['low', 9]] as const) {
    const staying: string[] = [];
    const selected: string[] = [];
    for (let i = 0; i < n; i++) {
      const job = mixedJob(i, queue);
      await source.lpush(`queue:${queue}`, job.payload);
      if (job.className) {
        selected.unshift(job.payload);
        count(job.className, `queue:${queue}`);
      } else staying.unshift(job.payload);
    }
    // The same bytes twice, selected and staying: each is a job, each goes (or stays) once.
    const twiceMoved = sidekiqPayload({ className: 'Move', queue, args: '["twice"]', jid: 'a'.repeat(24) });
    const twiceStaying = sidekiqPayload({ className: 'Stay', queue, args: '["twice"]', jid: 'b'.repeat(24) });
    for (const p of [twiceMoved, twiceStaying, twiceMoved, twiceStaying]) await source.lpush(`queue:${queue}`, p);
    selected.unshift(twiceMoved, twiceMoved);
    staying.unshift(twiceStaying, twiceStaying);
    count('Move', `queue:${queue}`);
    count('Move', `queue:${queue}`);
    s.stayingLists[`queue:${queue}`] = staying;
    s.selectedLists[`queue:${queue}`] = selected;
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < 17; i++) {
      const job = mixedJob(i, 'default');
      // Ties: three entries per score.
      const score = `${1795459303 + Math.floor(i / 3)}.25`;
      await source.zadd(set, score, job.payload);
      if (job.className) {
        s.selectedSets.push(jobEntry(set, job.payload, score));
        count(job.className, set);
      } else s.stayingSets.push(jobEntry(set, job.payload, score));
    }
  }
  return s;
}

function request(overrides: Partial<TransferRunRequest> = {}): TransferRunRequest {
  return {
    source: redis.source(),
    target: redis.target(),
    sourceKeys: keys,
    targetKeys: keys,
    runId: 'sel-1',
    dryRun: false,
    sets: ['schedule', 'retry', 'dead'],
    queues: true,
    sliceSize: 4,
    classes: SELECTED,
    ...overrides,
  };
}

const hexList = async (key: string, which: 'source' | 'target') => (await redis[which]().lrangeBuffer(key, 0, -1)).map((b) => b.toString('hex'));
const hex = (payloads: readonly string[]) => payloads.map((p) => Buffer.from(p).toString('hex'));

describe('a transfer of selected classes', () => {
  it.each(['append', 'front'] as const)('%s: takes exactly the selected jobs from shared queues and sets; every other job keeps its place, bytes and score', async (placement) => {
    const seeded = await seed();
    const backlog = sidekiqPayload({ className: 'Move', queue: 'default', args: '["already on the new Redis"]' });
    await redis.target().lpush('queue:default', backlog);

    const summary = await runTransfer(request({ placement }));

    // Source: exactly the staying jobs, in their order, with their scores; unparsable ones included.
    for (const [key, staying] of Object.entries(seeded.stayingLists)) expect(await hexList(key, 'source'), key).toEqual(hex(staying));
    const stayingQueues = Object.entries(seeded.stayingLists).flatMap(([key, list]) => list.map((p) => jobEntry(key, p)));
    expect(await jobsIn(redis.source())).toEqual([...stayingQueues, ...seeded.stayingSets].sort());
    // Target: every selected job once, in its order, behind (append) or ahead of (front) the backlog.
    const movedDefault = seeded.selectedLists['queue:default']!;
    expect(await hexList('queue:default', 'target')).toEqual(hex(placement === 'append' ? [...movedDefault, backlog] : [backlog, ...movedDefault]));
    expect(await hexList('queue:low', 'target')).toEqual(hex(seeded.selectedLists['queue:low']!));
    expect(await jobsIn(redis.target(), '', ['schedule', 'retry', 'dead'])).toEqual([...seeded.selectedSets].sort());
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);

    expect(summary.totals.byClass).toEqual(seeded.byClass);
    const selectedCount = Object.values(seeded.byClass).flatMap((k) => Object.values(k)).reduce((a, b) => a + b, 0);
    expect(summary.totals).toMatchObject({ claimed: selectedCount, written: selectedCount, duplicates: 0, vanished: 0, leftOnSource: 0 });
    expect(summary.totals.unparsableLeft).toBe(Math.floor(41 / 7) + Math.floor(9 / 7) + 3 * Math.floor(17 / 7));
    expect(summary.totals.examined).toBeGreaterThanOrEqual(41 + 9 + 8 + 3 * 17);
  });

  it('with a plan, the taken jobs are re-routed on the way (queue and ActiveJob queue_name); the others stay untouched', async () => {
    const seeded = await seed();
    const plan = classRoutingPlan(new Map([['Move', 'moved'], ['MoveJob', 'moved'], ['Stay', 'elsewhere'], ['StayJob', 'elsewhere']]));

    await runTransfer(request({ plan, placement: 'append' }));

    const stayingQueues = Object.entries(seeded.stayingLists).flatMap(([key, list]) => list.map((p) => jobEntry(key, p)));
    expect(await jobsIn(redis.source())).toEqual([...stayingQueues, ...seeded.stayingSets].sort());
    const rerouted = (p: string) => p.replace(/"queue":"(default|low)"/, '"queue":"moved"').replace(/"queue_name":"(default|low)"/, '"queue_name":"moved"');
    const expectedQueued = Object.values(seeded.selectedLists).flatMap((list) => list.map((p) => jobEntry('queue:moved', rerouted(p))));
    const expectedSets = seeded.selectedSets.map((e) => {
      const [key, h, score] = e.split('\t') as [string, string, string];
      return jobEntry(key, rerouted(Buffer.from(h, 'hex').toString()), score);
    });
    expect(await jobsIn(redis.target(), '', ['queue:moved', 'queue:default', 'queue:low', 'schedule', 'retry', 'dead'])).toEqual([...expectedQueued, ...expectedSets].sort());
    expect(await redis.target().smembers('queues')).toEqual(['moved']);
  });

  it.each(['append', 'front'] as const)('%s: jobs a producer pushes during the pass are not examined; the selected ones among them are counted as left on the source', async (placement) => {
    const raw = redis.source();
    for (let i = 0; i < 60; i++) await raw.lpush('queue:default', mixedJob(i, 'default').payload);
    let pushes = 0;
    const source = interferingRedis(raw, async () => {
      if (pushes >= 30) return;
      pushes++;
      await raw.lpush('queue:default', sidekiqPayload({ className: pushes % 3 ? 'Move' : 'Stay', queue: 'default', args: `["late",${pushes}]` }));
    });

    const summary = await runTransfer(request({ source, placement, sets: [], queues: ['default'] }));

    expect(pushes).toBe(30);
    const left = (await raw.lrangeBuffer('queue:default', 0, -1)).filter(isSelected);
    expect(left.length, 'selected jobs pushed during the pass are still on the source').toBeGreaterThan(0);
    expect(left.every((j) => j.toString().includes('"late"'))).toBe(true);
    expect(summary.queues['default']!.leftOnSource).toBe(left.length);
  });

  it('a dry run writes nothing on either server and counts per class and source key what would be taken', async () => {
    const seeded = await seed();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const summary = await runTransfer(request({ dryRun: true }));

    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
    expect(summary.totals.byClass).toEqual(seeded.byClass);
    const selectedCount = Object.values(seeded.byClass).flatMap((k) => Object.values(k)).reduce((a, b) => a + b, 0);
    expect(summary.totals.claimed).toBe(selectedCount);
  });

  it('selects no class: nothing moves, and a whole-queue transfer (no classes) still takes everything', async () => {
    await seed();
    const everything = await jobsIn(redis.source());
    const none = await runTransfer(request({ classes: [] }));
    expect(none.totals).toMatchObject({ claimed: 0, written: 0 });
    expect(await jobsIn(redis.source())).toEqual(everything);

    const all = await runTransfer(request({ classes: undefined, runId: 'all' }));
    expect(all.totals.byClass).toBeUndefined();
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(everything);
  });
});
