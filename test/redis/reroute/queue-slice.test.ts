import { describe, expect, it } from 'vitest';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { findDrainedQueues } from '../../../core/reroute/drained-queues.js';
import { rerouteQueueSlice, type Placement, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { expectExactJobs, jobEntry, jobsIn, withQueue, keyValueSnapshot } from '../../support/exact-jobs.js';
import { jidOf, queueOf, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const mapping = (entries: Record<string, string>): RoutingPlan => classRoutingPlan(new Map(Object.entries(entries)));

interface QueueRunOptions {
  sliceSize?: number;
  placement?: Placement;
  unmapped?: 'leave' | 'quarantine';
  dryRun?: boolean;
}

function drainQueue(keys: SidekiqKeys, queue: string, plan: RoutingPlan, o: QueueRunOptions = {}) {
  return drivePages(
    (cursor) =>
      rerouteQueueSlice({ redis, keys, plan, queue, cursor, sliceSize: o.sliceSize ?? 100, placement: o.placement, unmapped: o.unmapped, dryRun: o.dryRun ?? false }),
    null as QueueCursor | null,
  );
}

/** GitLab's `queued` task: every queue that is not a routing destination. */
async function drainAll(keys: SidekiqKeys, plan: RoutingPlan, o: QueueRunOptions = {}) {
  const { drained } = await findDrainedQueues(redis, keys, plan);
  for (const queue of drained) await drainQueue(keys, queue, plan, o);
}

/** Sidekiq's client: SADD queues, LPUSH queue:NAME. */
async function enqueue(keys: SidekiqKeys, queue: string, payload: string): Promise<void> {
  await redis.sadd(keys.queues, queue);
  await redis.lpush(keys.queue(queue), payload);
}

/** What a fetcher would get, in order (BRPOP takes from the right). */
async function fetchOrder(keys: SidekiqKeys, queue: string): Promise<string[]> {
  return (await redis.lrange(keys.queue(queue), 0, -1)).reverse();
}

const APU = 'AuthorizedProjectUpdate::ProjectRecalculateWorker';

async function seedGitLabQueues(keys: SidekiqKeys): Promise<void> {
  await enqueue(keys, 'email_receiver', sidekiqPayload({ className: 'EmailReceiverWorker', queue: 'email_receiver', args: '["foo"]' }));
  await enqueue(keys, 'email_receiver', sidekiqPayload({ className: 'EmailReceiverWorker', queue: 'email_receiver', args: '["bar"]' }));
  const apuQueue = 'authorized_project_update:authorized_project_update_project_recalculate';
  await enqueue(keys, apuQueue, sidekiqPayload({ className: APU, queue: apuQueue, args: '[]' }));
}

describe("GitLab's list migration cases", () => {
  it('Q1: everything to default; the colon in a queue name is kept', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabQueues(keys);

    await drainAll(keys, mapping({ EmailReceiverWorker: 'default', [APU]: 'default' }));

    const jobs = await fetchOrder(keys, 'default');
    expect(jobs).toHaveLength(3);
    expect(jobs.map(queueOf)).toEqual(['default', 'default', 'default']);
    expect(await redis.exists(keys.queue('email_receiver'))).toBe(0);
    expect(await redis.smembers(keys.queues)).toContain('default');
  });

  it('Q2: FIFO order is preserved per destination', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabQueues(keys);

    await drainAll(keys, mapping({ EmailReceiverWorker: 'new_email', [APU]: 'new_authorized' }));

    const email = await fetchOrder(keys, 'new_email');
    expect(email.map((p) => /"args":\["(\w+)"\]/.exec(p)![1])).toEqual(['foo', 'bar']);
    expect(email.map(queueOf)).toEqual(['new_email', 'new_email']);
    expect((await fetchOrder(keys, 'new_authorized')).map(queueOf)).toEqual(['new_authorized']);
  });

  it('Q3 (safe): an unparsable payload is left in place and reported, never dropped', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabQueues(keys);
    await redis.lpush(keys.queue('email_receiver'), '{foo: 1}');

    await drainAll(keys, mapping({ EmailReceiverWorker: 'default', [APU]: 'default' }));

    expect(await fetchOrder(keys, 'default')).toHaveLength(3);
    expect(await redis.lrange(keys.queue('email_receiver'), 0, -1)).toEqual(['{foo: 1}']);
  });

  it('Q4: a queue that is a routing destination is not touched, even jobs routed elsewhere', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabQueues(keys);
    await enqueue(keys, 'email_receiver', sidekiqPayload({ className: 'ExportCsvWorker', queue: 'email_receiver', args: '["fizz"]' }));
    const before = await redis.lrange(keys.queue('email_receiver'), 0, -1);

    await drainAll(keys, mapping({ EmailReceiverWorker: 'email_receiver', [APU]: 'default', ExportCsvWorker: 'default' }));

    expect(await redis.lrange(keys.queue('email_receiver'), 0, -1)).toEqual(before);
    expect(await fetchOrder(keys, 'default')).toHaveLength(1);
  });

  it('Q5: all three classes to default empties both sources', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabQueues(keys);
    await enqueue(keys, 'email_receiver', sidekiqPayload({ className: 'ExportCsvWorker', queue: 'email_receiver', args: '["fizz"]' }));

    await drainAll(keys, mapping({ EmailReceiverWorker: 'default', [APU]: 'default', ExportCsvWorker: 'default' }));

    expect(await fetchOrder(keys, 'default')).toHaveLength(4);
    expect(await redis.llen(keys.queue('email_receiver'))).toBe(0);
  });

  it('E1 (safe): ActiveJob mail jobs on mailers stay, whatever the rules', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const mail = sidekiqPayload({ className: 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', wrapped: 'ActionMailer::MailDeliveryJob', queue: 'mailers' });
    await enqueue(keys, 'mailers', mail);

    await drainAll(keys, mapping({ PostReceive: 'default' }));

    expect(await redis.lrange(keys.queue('mailers'), 0, -1)).toEqual([mail]);
  });
});

describe('queue slices', () => {
  const jobs = (n: number, className = 'A', queue = 'old') => Array.from({ length: n }, (_, i) => sidekiqPayload({ className, queue, args: `[${i}]` }));

  it.each([1, 2, 3, 7])('front placement: migrated jobs run first, in their order, with slices of %i', async (sliceSize) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const migrated = jobs(5);
    const backlog = jobs(2, 'A', 'new');
    for (const p of migrated) await enqueue(keys, 'old', p);
    for (const p of backlog) await enqueue(keys, 'new', p);

    const run = await drainQueue(keys, 'old', mapping({ A: 'new' }), { sliceSize });

    expect(run.counters).toMatchObject({ scanned: 5, moved: 5, movedTo: { new: 5 } });
    const order = (await fetchOrder(keys, 'new')).map(jidOf);
    expect(order).toEqual([...migrated, ...backlog].map(jidOf));
  });

  it.each([1, 2, 7])('append placement: migrated jobs queue behind the backlog, in their order (slices of %i)', async (sliceSize) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const migrated = jobs(5);
    const backlog = jobs(2, 'A', 'new');
    for (const p of migrated) await enqueue(keys, 'old', p);
    for (const p of backlog) await enqueue(keys, 'new', p);

    await drainQueue(keys, 'old', mapping({ A: 'new' }), { sliceSize, placement: 'append' });

    expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual([...backlog, ...migrated].map(jidOf));
  });

  it.each(['front', 'append'] as const)('%s: unmapped and unparsable jobs stay in place, in order, and slices step over them', async (placement) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = [...jobs(2), sidekiqPayload({ className: 'Gone', queue: 'old' }), 'not json', ...jobs(3)];
    for (const p of seeded) await enqueue(keys, 'old', p);

    const run = await drainQueue(keys, 'old', mapping({ A: 'new' }), { sliceSize: 2, placement });

    // Left on a queue nothing routes to (not a live one), and nothing arrived: the two kept are ours.
    expect(run.counters).toMatchObject({ scanned: 7, moved: 5, unmapped: 1, unparsable: 1, keptOnLiveQueues: 0, arrived: 0, vanished: 0 });
    expect(run.counters.movedTo).toEqual({ new: 5 });
    expect(await fetchOrder(keys, 'old')).toEqual([seeded[2], 'not json']);
    expect(run.counters.samples.unparsable).toEqual([{ jid: null, className: null, reason: 'invalid-json' }]);
    expect(run.counters.unmappedClasses).toEqual({ Gone: 1 });
  });

  it('--unmapped quarantine moves them to a quarantine list outside queue:*', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = [...jobs(2), sidekiqPayload({ className: 'Gone', queue: 'old' }), 'not json'];
    for (const p of seeded) await enqueue(keys, 'old', p);

    const run = await drainQueue(keys, 'old', mapping({ A: 'new' }), { unmapped: 'quarantine' });

    expect(run.counters).toMatchObject({ moved: 2, quarantined: 2, keptOnLiveQueues: 0 });
    expect(await redis.llen(keys.queue('old'))).toBe(0);
    expect((await redis.lrange(keys.quarantine('old'), 0, -1)).reverse()).toEqual([seeded[2], 'not json']);
    expect(await redis.smembers(keys.queues)).not.toContain('');
  });

  it.each(['front', 'append'] as const)('%s: Lua calls of 2 jobs each move every job once, none counted as vanished', async (placement) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = jobs(7);
    for (const p of seeded) await enqueue(keys, 'old', p);

    const slice = await rerouteQueueSlice({ redis, keys, plan: mapping({ A: 'new' }), queue: 'old', cursor: null, sliceSize: 100, placement, dryRun: false, luaBatch: 2 });

    expect(slice.done).toBe(true);
    expect(slice.counters).toMatchObject({ scanned: 7, moved: 7, vanished: 0, arrived: 0 });
    await expectExactJobs(redis, keys.prefix, seeded.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))));
    expect((await redis.smembers(keys.queues)).sort()).toEqual(['new', 'old']);
  });

  it("rewrites ActiveJob's queue_name with the queue unless told not to (the default)", async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const wrapper = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
    const job = sidekiqPayload({ className: wrapper, wrapped: 'A', queue: 'old', args: '[{"job_class":"A","queue_name":"old","arguments":[]}]' });
    await enqueue(keys, 'old', job);

    await rerouteQueueSlice({ redis, keys, plan: mapping({ A: 'new' }), queue: 'old', cursor: null, sliceSize: 10, dryRun: false });

    const moved = withQueue(job, 'old', 'new').replace('"queue_name":"old"', '"queue_name":"new"');
    await expectExactJobs(redis, keys.prefix, [jobEntry(String(keys.queue('new')), moved)]);
  });

  it('says what it was doing when the queue key holds another type', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.set(keys.queue('old'), 'not a list');

    await expect(rerouteQueueSlice({ redis, keys, plan: mapping({ A: 'new' }), queue: 'old', cursor: null, sliceSize: 10, dryRun: false })).rejects.toThrow(
      new RegExp(`^Re-routing jobs of ${keys.queue('old')}: `),
    );
  });

  it('adds every destination to the queues set, as Sidekiq does', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    for (const p of [...jobs(2, 'A'), ...jobs(2, 'B')]) await enqueue(keys, 'old', p);

    await drainQueue(keys, 'old', mapping({ A: 'a', B: 'b' }));

    expect((await redis.smembers(keys.queues)).sort()).toEqual(['a', 'b', 'old']);
  });

  it('renames move every job of the renamed queue', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    for (const p of [...jobs(2, 'A'), ...jobs(1, 'Unknown')]) await enqueue(keys, 'old', p);

    const run = await drainQueue(keys, 'old', renameRoutingPlan(new Map([['old', 'renamed']])));

    expect(run.counters.moved).toBe(3);
    expect((await fetchOrder(keys, 'renamed')).map(queueOf)).toEqual(['renamed', 'renamed', 'renamed']);
  });

  it('a dry run counts what it would move and writes nothing', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    for (const p of [...jobs(5), 'bad']) await enqueue(keys, 'old', p);
    const before = await keyValueSnapshot(redis, keys.prefix);

    const run = await drainQueue(keys, 'old', mapping({ A: 'new' }), { sliceSize: 2, dryRun: true });

    expect(run.counters).toMatchObject({ scanned: 6, moved: 5, unparsable: 1, movedTo: { new: 5 } });
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
  });

  it('a run ends even while a stale producer keeps pushing to the old queue', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = jobs(10);
    for (const p of seeded) await enqueue(keys, 'old', p);
    const late: string[] = [];

    const run = await drivePages(async (cursor: QueueCursor | null) => {
      const slice = await rerouteQueueSlice({ redis, keys, plan: mapping({ A: 'new' }), queue: 'old', cursor, sliceSize: 3, dryRun: false });
      for (let i = 0; i < 5; i++) {
        late.push(sidekiqPayload({ className: 'A', queue: 'old' }));
        await redis.lpush(keys.queue('old'), late.at(-1)!);
      }
      return slice;
    }, null);

    expect(run.done).toBe(true);
    expect(run.counters.scanned).toBe(10);
    // Every job, seeded or pushed late, is exactly once either still on the old queue, untouched,
    // or on the new one, rewritten byte for byte but for its queue; `moved` says how many.
    const onNew = (await jobsIn(redis, keys.prefix, [String(keys.queue('new'))])).length;
    expect(onNew).toBe(run.counters.moved);
    const asSeeded = (await jobsIn(redis, keys.prefix)).map((e) => {
      const [key, hex] = e.split('\t') as [string, string];
      const payload = Buffer.from(hex, 'hex').toString();
      return key === String(keys.queue('new')) ? jobEntry(String(keys.queue('old')), withQueue(payload, 'new', 'old')) : e;
    });
    expect(asSeeded.sort()).toEqual([...seeded, ...late].map((p) => jobEntry(String(keys.queue('old')), p)).sort());
  });

  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: every job present when the queue's work started is moved, in order, while a producer pushes between slices; arrivals are counted`, async () => {
      const keys = new SidekiqKeys(uniquePrefix());
      const originals = jobs(10).map((p, i) => p.replace('"args":[', `"args":[${i},`));
      for (const p of originals) await enqueue(keys, 'old', p);
      const backlog = sidekiqPayload({ className: 'A', queue: 'new', args: '["backlog"]' });
      await enqueue(keys, 'new', backlog);
      const late: string[] = [];

      const run = await drivePages(async (cursor: QueueCursor | null) => {
        const slice = await rerouteQueueSlice({ redis, keys, plan: mapping({ A: 'new' }), queue: 'old', cursor, sliceSize: 3, placement, dryRun: false });
        for (let i = 0; i < 5; i++) late.push(sidekiqPayload({ className: 'A', queue: 'old', args: `["late",${late.length}]` }));
        await redis.lpush(keys.queue('old'), ...late.slice(-5));
        return slice;
      }, null);

      expect(run.counters).toMatchObject({ scanned: 10, moved: 10, arrived: 15 });
      // Every original on the new queue, in fetch order (ahead of the backlog, or behind it); every late job still on the old one.
      const movedInOrder = originals.map((p) => p.replace('"queue":"old"', '"queue":"new"'));
      expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual((placement === 'front' ? [...movedInOrder, backlog] : [backlog, ...movedInOrder]).map(jidOf));
      expect((await fetchOrder(keys, 'old')).sort()).toEqual([...late].sort());
    });
  }

  // A rollback drains every queue its run moved jobs to, and puts jobs back on the queues they came
  // from: when one of those is drained too (the run swapped classes between two queues, or moved set
  // entries out of a queue that other classes moved into), the other queue's pass RPUSHes onto this
  // one's tail while this pass reads its originals by tail offset. Before any job was left in place
  // (no floor), the window was placed by count alone: it slid down by the jobs pushed, took them
  // for originals, and left as many originals unexamined above it, counted as arrived (a swap of
  // 3,000 jobs each way put back 1,600 of each and said '4,200 job(s) arrived on retired queues').
  it('front: jobs pushed onto the tail between slices before any was left in place: the next window still starts at the originals not yet examined', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = jobs(10);
    for (const p of seeded) await enqueue(keys, 'old', p);
    // More than a window and than the look near where the mark was (64 jobs) reach.
    const pushed = jobs(70, 'Unmapped');
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first).toMatchObject({ done: false, cursor: { limit: 10, examined: 3, kept: 0 }, counters: { scanned: 3, moved: 3 } });
    // The other pass puts jobs back at the consumer end, oldest first in line.
    await redis.rpush(keys.queue('old'), ...pushed);
    const examined: number[] = [];
    const rest = await drivePages(async (cursor) => {
      const slice = await rerouteQueueSlice({ ...request, cursor });
      examined.push(slice.cursor.examined);
      return slice;
    }, first.cursor as QueueCursor | null);
    // Never below what was examined before (an execution's state refuses a negative count).
    expect(examined.every((n, i) => n >= (examined[i - 1] ?? 3))).toBe(true);

    // Every original moved, in order; the pushed jobs left where they were put, counted as what
    // they are on a retired queue: arrived during the run (a rollback counts only the classes it puts back).
    expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual(seeded.map(jidOf));
    expect(await redis.lrange(keys.queue('old'), 0, -1)).toEqual(pushed);
    expect(rest.counters).toMatchObject({ moved: 7, arrived: 70 });
    expect(rest.cursor).toMatchObject({ limit: 10, examined: 10 });
  });

  it('front: a slice run again from the cursor before it (its answer lost) finds the original it started at gone, and goes on by count: every original moved once', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = jobs(10);
    for (const p of seeded) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    await rerouteQueueSlice({ ...request, cursor: first.cursor });
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, cursor }), first.cursor as QueueCursor | null);

    expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual(seeded.map(jidOf));
    expect(await redis.exists(keys.queue('old'))).toBe(0);
    expect(rest).toMatchObject({ done: true, counters: { moved: 4, arrived: 0 } });
  });

  it('front: a worker fetching between slices leaves fewer originals than unexamined: the slice reads what is left and accounts for the rest as gone', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = jobs(10);
    for (const p of seeded) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first).toMatchObject({ done: false, cursor: { limit: 10, examined: 3, kept: 0 }, counters: { scanned: 3, moved: 3 } });
    // A worker takes the 5 oldest: 2 of the 7 unexamined are left.
    for (let i = 0; i < 5; i++) await redis.rpop(keys.queue('old'));
    const second = await rerouteQueueSlice({ ...request, cursor: first.cursor });

    expect(second).toMatchObject({ done: true, cursor: { limit: 10, examined: 10, kept: 0 }, counters: { scanned: 2, moved: 2, vanished: 0, arrived: 0 } });
    // The 3 newest (7–9) went first, then the 2 the worker left (5, 6), ahead of them, oldest first.
    expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual(seeded.slice(5).map(jidOf));
    expect(await redis.exists(keys.queue('old'))).toBe(0);
  });

  it('front: a worker fetching between slices while the slices before left jobs in place: the next window does not take those again, and they are counted once', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    // 7 jobs to move (oldest), then 3 unmapped (newest): the first slice keeps the 3 unmapped.
    const seeded = [...jobs(7), ...jobs(3, 'Unmapped')];
    for (const p of seeded) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first).toMatchObject({ done: false, cursor: { limit: 10, examined: 3, kept: 3 }, counters: { scanned: 3, unmapped: 3 } });
    // A worker takes the 2 oldest: 5 of the 7 unexamined are left, below the 3 kept.
    const popped = [await redis.rpop(keys.queue('old')), await redis.rpop(keys.queue('old'))];
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, cursor }), first.cursor as QueueCursor | null);

    // Each job once: 2 taken by the worker, the 5 others moved, the 3 unmapped left and counted once.
    expect(popped).toEqual(seeded.slice(0, 2));
    expect((await fetchOrder(keys, 'new')).map(jidOf)).toEqual(seeded.slice(2, 7).map(jidOf));
    expect((await fetchOrder(keys, 'old')).map(jidOf)).toEqual(seeded.slice(7).map(jidOf));
    expect(rest.counters).toMatchObject({ moved: 5, unmapped: 0, alreadyRouted: 0, arrived: 0 });
    expect(rest.cursor).toMatchObject({ limit: 10, examined: 10, kept: 3 });
  });

  it('front: a worker fetching a job the pass left in place between its last move and its count: a job that arrived meanwhile is still counted', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    // 3 unmapped (oldest: the pass examines them last, and leaves them at the tail), then 8 of A.
    const unmapped = jobs(3, 'U');
    const mapped = jobs(8).map((p, i) => p.replace('"args":[', `"args":["m${i}",`));
    const late = jobs(1)[0]!.replace('"args":[', '"args":["late",');
    for (const p of [...unmapped, ...mapped]) await enqueue(keys, 'old', p);
    // Two slices: 6 of A, then the 2 others with the 3 unmapped.
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 6, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    // A producer on old rules pushes a job of A during the run.
    await enqueue(keys, 'old', late);
    // Once every original of A has moved, before the pass's next read (its count), a worker
    // fetches the oldest job: one the pass left in place. The list's length alone then says 3.
    let popped: string | null | undefined;
    const fetching = interferingRedis(redis, async () => {
      if (popped !== undefined) return;
      const onOld = await redis.lrange(keys.queue('old'), 0, -1);
      if (!onOld.some((p) => mapped.includes(p))) popped = await redis.rpop(keys.queue('old'));
    });
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, redis: fetching, cursor }), first.cursor as QueueCursor | null);

    expect(popped).toBe(unmapped[0]);
    await expectExactJobs(redis, keys.prefix, [
      ...[unmapped[1]!, unmapped[2]!, late].map((p) => jobEntry(String(keys.queue('old')), p)),
      ...mapped.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))),
    ]);
    expect(rest.counters).toMatchObject({ scanned: 5, moved: 2, unmapped: 3, vanished: 0, arrived: 1 });
  });

  it.each([
    [80, 'more than the count\'s first read looks below (64): the highest kept job is found reading further down'],
    [100, 'all of them: every job on the list arrived'],
  ])('front: a worker fetching %i of the 100 jobs the pass left in place before its count (%s)', async (fetch) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(100, 'U');
    const mapped = jobs(10).map((p, i) => p.replace('"args":[', `"args":["m${i}",`));
    const late = jobs(2).map((p, i) => p.replace('"args":[', `"args":["late${i}",`));
    // Oldest first: 2 of A, the 100 unmapped, 8 of A. Two slices: 8 of A and 52 unmapped, then the
    // 48 others and the 2 oldest of A, which are the pass's last moves.
    await redis.lpush(keys.queue('old'), ...mapped.slice(0, 2), ...unmapped, ...mapped.slice(2));
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 60, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    await redis.lpush(keys.queue('old'), ...late);
    let popped: string[] | undefined;
    const fetching = interferingRedis(redis, async () => {
      if (popped !== undefined) return;
      const onOld = await redis.lrange(keys.queue('old'), 0, -1);
      if (!onOld.some((p) => mapped.includes(p))) popped = (await redis.rpop(keys.queue('old'), fetch))!;
    });
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, redis: fetching, cursor }), first.cursor as QueueCursor | null);

    expect(popped).toEqual(unmapped.slice(0, fetch));
    await expectExactJobs(redis, keys.prefix, [
      ...[...unmapped.slice(fetch), ...late].map((p) => jobEntry(String(keys.queue('old')), p)),
      ...mapped.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))),
    ]);
    expect(rest.counters).toMatchObject({ moved: 2, unmapped: 48, vanished: 0, arrived: 2 });
  });

  it("front: a Sidekiq shutting down between slices RPUSHes the jobs it fetched back onto the tail: the next window still starts below the jobs left in place", async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = [...jobs(7), ...jobs(3, 'Unmapped')];
    for (const p of seeded) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    // Fetched, then requeued by BasicFetch#bulk_requeue (RPUSH: first in line again).
    const fetched = [await redis.rpop(keys.queue('old')), await redis.rpop(keys.queue('old'))];
    await redis.rpush(keys.queue('old'), ...fetched.map(String));
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, cursor }), first.cursor as QueueCursor | null);

    expect((await fetchOrder(keys, 'new')).map(jidOf).sort()).toEqual(seeded.slice(0, 7).map(jidOf).sort());
    expect((await fetchOrder(keys, 'old')).map(jidOf)).toEqual(seeded.slice(7).map(jidOf));
    expect(rest.counters).toMatchObject({ moved: 7, unmapped: 0, arrived: 0 });
  });

  it.each([false, true])('append (dry run: %s): a worker fetching between slices takes the jobs left at the tail first; the next window finds where they end, and no job is stepped over', async (dryRun) => {
    const keys = new SidekiqKeys(uniquePrefix());
    // Fetch order (oldest first): two jobs of a class with no destination, then ten of A.
    const unmapped = jobs(2, 'U');
    const mapped = jobs(10);
    for (const p of [...unmapped, ...mapped]) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 2, placement: 'append' as const, dryRun };
    const popped: string[] = [];

    let slices = 0;
    const run = await drivePages(async (cursor: QueueCursor | null) => {
      const slice = await rerouteQueueSlice({ ...request, cursor });
      // After each of the first two slices a worker takes the oldest job: one left at the tail.
      if (++slices <= 2) popped.push((await redis.rpop(keys.queue('old')))!);
      return slice;
    }, null);

    if (dryRun) {
      // Every job left in place: the two popped are the two oldest, and the count is each job once.
      expect(popped).toEqual(unmapped);
      expect(run.counters).toMatchObject({ scanned: 12, moved: 10, unmapped: 2 });
      expect(await fetchOrder(keys, 'old')).toEqual(mapped);
    } else {
      expect(popped).toEqual(unmapped);
      expect(run.counters).toMatchObject({ scanned: 12, moved: 10, unmapped: 2, vanished: 0, arrived: 0 });
      // Every job of A moved, in order; nothing left behind on the old queue.
      expect(await fetchOrder(keys, 'new')).toEqual(mapped.map((p) => p.replace('"queue":"old"', '"queue":"new"')));
      expect(await redis.exists(keys.queue('old'))).toBe(0);
    }
  });

  it('append: a Sidekiq shutting down between slices RPUSHes a job it had fetched before the run back onto the tail: the next window still starts above the jobs left there', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(3, 'U');
    const mapped = jobs(7);
    const inFlight = jobs(1)[0]!;
    for (const p of [...unmapped, ...mapped]) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, placement: 'append' as const, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first).toMatchObject({ cursor: { examined: 3, kept: 3 }, counters: { unmapped: 3 } });
    // BasicFetch#bulk_requeue: RPUSH, first in line again, below the jobs the pass left.
    await redis.rpush(keys.queue('old'), inFlight);
    const rest = await drivePages((cursor) => rerouteQueueSlice({ ...request, cursor }), first.cursor as QueueCursor | null);

    // The 3 unmapped are counted once; every job of A moved, the requeued one included or left as an arrival.
    expect(rest.counters).toMatchObject({ unmapped: 0 });
    const movedJids = (await fetchOrder(keys, 'new')).map(jidOf);
    expect(movedJids.slice(0, 7)).toEqual(mapped.map(jidOf));
    const old = (await fetchOrder(keys, 'old')).map(jidOf);
    expect([...old, ...movedJids.slice(7)].sort()).toEqual([...unmapped, inFlight].map(jidOf).sort());
    expect(rest.counters.arrived).toBe(old.length - 3);
  });

  it('append: a worker taking more jobs than a window between two slices, and all of those left at the tail: the next window starts at the tail', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(3, 'U');
    const mapped = jobs(12);
    for (const p of [...unmapped, ...mapped]) await enqueue(keys, 'old', p);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 3, placement: 'append' as const, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first.counters).toMatchObject({ scanned: 3, unmapped: 3 });
    // The three kept jobs and the two oldest of A: more than a window below the mark.
    for (let i = 0; i < 5; i++) await redis.rpop(keys.queue('old'));
    const rest = await drivePages((cursor: QueueCursor | null) => rerouteQueueSlice({ ...request, cursor }), first.cursor);

    expect(rest.counters).toMatchObject({ scanned: 10, moved: 10, unmapped: 0, arrived: 0 });
    expect(await fetchOrder(keys, 'new')).toEqual(mapped.slice(2).map((p) => p.replace('"queue":"old"', '"queue":"new"')));
    expect(await redis.exists(keys.queue('old'))).toBe(0);
  });

  it('append: a worker taking more of the jobs left at the tail than the window\'s read looks below (64): the mark is found by reading further down', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(80, 'U');
    const mapped = jobs(6);
    const pipeline = redis.pipeline();
    for (const p of [...unmapped, ...mapped]) pipeline.lpush(keys.queue('old'), p);
    await pipeline.exec();
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 40, placement: 'append' as const, dryRun: false };

    let cursor: QueueCursor | null = null;
    for (let i = 0; i < 2; i++) cursor = (await rerouteQueueSlice({ ...request, cursor })).cursor;
    expect(cursor).toMatchObject({ examined: 80, kept: 80, tail: { over: 80 } });
    // A worker takes 70 of the 80 kept: the mark is 70 lower.
    await redis.rpop(keys.queue('old'), 70);
    const reads = interferingRedis(redis, () => {});
    const rest = await drivePages((c: QueueCursor | null) => rerouteQueueSlice({ ...request, redis: reads, cursor: c }), cursor);

    expect(rest.counters).toMatchObject({ scanned: 6, moved: 6, arrived: 0 });
    expect(await fetchOrder(keys, 'old')).toEqual(unmapped.slice(70));
    expect(await fetchOrder(keys, 'new')).toEqual(mapped.map((p) => p.replace('"queue":"old"', '"queue":"new"')));
    // The window's read, a read further down (where the mark is), the window, the writes, the
    // arrivals: the length, and the 10 jobs left at the tail (one read: none would move).
    expect(reads.calls()).toBe(6);
  });

  it('append: a worker fetching the jobs at the tail after the last window was read: what is gone is not counted as arrived', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(3, 'U');
    const mapped = jobs(8);
    const pushedBack = jobs(2, 'A', 'old').map((p) => p.replace('"args":[', '"args":["back",'));
    await redis.lpush(keys.queue('old'), ...unmapped, ...mapped);
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 4, placement: 'append' as const, dryRun: false };
    // The first slice keeps the three U at the tail; a stopping Sidekiq pushes two A back below them.
    const first = await rerouteQueueSlice({ ...request, cursor: null });
    await redis.rpush(keys.queue('old'), ...pushedBack);
    // Just before the pass counts what arrived, a worker fetches the two A and two of the U.
    let fetched: string[] = [];
    const fetching = interferingRedis(redis, async ({ command }) => {
      if (command === 'llen' && fetched.length === 0) fetched = (await redis.rpop(keys.queue('old'), 4))!;
    });
    const rest = await drivePages((c: QueueCursor | null) => rerouteQueueSlice({ ...request, redis: fetching, cursor: c }), first.cursor as QueueCursor | null);

    expect(fetched).toEqual([...pushedBack.reverse(), unmapped[0], unmapped[1]]);
    await expectExactJobs(redis, keys.prefix, [jobEntry(String(keys.queue('old')), unmapped[2]!), ...mapped.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new')))]);
    // The tail held five when the last window was read, one now: nothing arrived.
    expect(rest.counters).toMatchObject({ moved: 7, arrived: 0 });
  });

  it('append: a worker fetching a job the pass left at the tail between its last move and its count: a job that arrived meanwhile is still counted', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = jobs(3, 'U');
    const mapped = jobs(8).map((p, i) => p.replace('"args":[', `"args":["m${i}",`));
    const late = jobs(1)[0]!.replace('"args":[', '"args":["late",');
    await redis.lpush(keys.queue('old'), ...unmapped, ...mapped);
    // Two slices: the 3 unmapped and 3 of A, then the 5 others of A.
    const request = { redis, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 6, placement: 'append' as const, dryRun: false };

    const first = await rerouteQueueSlice({ ...request, cursor: null });
    await redis.lpush(keys.queue('old'), late);
    let popped: string | null | undefined;
    const fetching = interferingRedis(redis, async () => {
      if (popped !== undefined) return;
      const onOld = await redis.lrange(keys.queue('old'), 0, -1);
      if (!onOld.some((p) => mapped.includes(p))) popped = await redis.rpop(keys.queue('old'));
    });
    const rest = await drivePages((c: QueueCursor | null) => rerouteQueueSlice({ ...request, redis: fetching, cursor: c }), first.cursor as QueueCursor | null);

    expect(popped).toBe(unmapped[0]);
    await expectExactJobs(redis, keys.prefix, [
      ...[unmapped[1]!, unmapped[2]!, late].map((p) => jobEntry(String(keys.queue('old')), p)),
      ...mapped.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))),
    ]);
    expect(rest.counters).toMatchObject({ moved: 5, vanished: 0, arrived: 1 });
  });

  it('a slice reads the queue in one round trip (its length and its window together); the first one reads the bound before', async () => {
    for (const placement of ['front', 'append'] as const) {
      const keys = new SidekiqKeys(uniquePrefix());
      for (const p of jobs(10)) await enqueue(keys, 'old', p);
      const counting = interferingRedis(redis, () => {});
      const request = { redis: counting, keys, plan: mapping({ A: 'new' }), queue: 'old', sliceSize: 4, placement, dryRun: false };

      const first = await rerouteQueueSlice({ ...request, cursor: null });
      expect(counting.calls()).toBe(3); // the bound, the read, the writes
      const second = await rerouteQueueSlice({ ...request, cursor: first.cursor });
      expect(counting.calls()).toBe(5);
      const third = await rerouteQueueSlice({ ...request, cursor: second.cursor });
      // The last slice also counts the arrivals, after its writes.
      expect(counting.calls()).toBe(8);
      expect([first.counters.moved, second.counters.moved, third.counters.moved, third.done]).toEqual([4, 4, 2, true]);
    }
  });

  it('lists of many sizes are drained completely', async () => {
    for (const size of [0, 1, 99, 100, 101, 2500]) {
      const keys = new SidekiqKeys(uniquePrefix());
      const seeded = jobs(size);
      const pipeline = redis.pipeline();
      for (const p of seeded) pipeline.lpush(keys.queue('old'), p);
      await pipeline.exec();

      const run = await drainQueue(keys, 'old', mapping({ A: 'new' }), { sliceSize: 100 });

      expect(run.counters.moved).toBe(size);
      // The old queue is gone, the new one holds each job once, byte for byte but for its queue.
      await expectExactJobs(redis, keys.prefix, seeded.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))), `size ${size}`);
      expect(await redis.exists(keys.queue('old'))).toBe(0);
    }
  });
});

describe('key discovery', () => {
  it('finds queue lists under the prefix and skips private in-flight lists and other types', async () => {
    const keys = new SidekiqKeys(`${uniquePrefix()}resque:gitlab:`);
    await redis.lpush(keys.queue('default'), 'x');
    await redis.lpush(keys.queue('cronjob:admin_email'), 'x');
    await redis.lpush(keys.queue('sq|host:1:abc|default'), 'x');
    await redis.lpush(`${keys.prefix}working:queue:default:host:1:abc`, 'x');
    await redis.set(keys.queue('not_a_list'), 'x');
    await redis.lpush(`${keys.prefix}other:queue:x`, 'x');

    const { drained, untouched, skipped } = await findDrainedQueues(redis, keys, mapping({ A: 'default' }));

    expect(drained).toEqual(['cronjob:admin_email']);
    expect(untouched).toEqual(['default']);
    expect(skipped.map((s) => s.reason).sort()).toEqual(['not a list but a string', 'private in-flight list of Sidekiq Pro super_fetch']);
  });
});
