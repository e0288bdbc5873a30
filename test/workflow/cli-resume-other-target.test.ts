// A transfer interrupted while its jobs were in flight to one target, then run again against
// another target (a corrected URL, another shard): those jobs may already be on the first target,
// and only its ledger knows, so writing them to the second would run them twice. The second run
// refuses before writing anything, and says how to finish them; the first target finishes them,
// every job once. If the first target lost them, deleting their batch keys hands them over.
import { describe, expect, it } from 'vitest';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const other = privateRedis();
const cli = runCli;
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();

async function interruptedTransferTo(targetUrl: string) {
  const [source, target] = [redis.source(), redis.target()];
  await source.sadd('queues', 'a');
  await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'a', args: '[2]' }));
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'C', queue: 'a' }));
  const seeded = sorted(await allJobs(source, ''));
  // Keys of the wrong type on the first target stop each write after its claim: the jobs wait in flight.
  for (const key of ['queue:a', 'schedule']) await target.set(key, 'not a job key');
  const first = await cli('move', '--from', redis.urls().source, '--to', targetUrl);
  expect(first.code).toBe(1);
  expect((await source.keys('sidekiq-migrate:*:inflight:*')).sort()).toEqual([expect.stringMatching(/:inflight:queue:a$/), expect.stringMatching(/:inflight:schedule$/)]);
  for (const key of ['queue:a', 'schedule']) await target.del(key);
  return seeded;
}

describe('move resumes jobs in flight only on the target they were claimed for', () => {
  it('refuses another target, naming the run, the jobs and the way out; the first target then finishes them once', async () => {
    const [source, target, elsewhere] = [redis.source(), redis.target(), other.client()];
    const seeded = await interruptedTransferTo(redis.urls().target);
    const sourceBefore = sorted(await allJobs(source, ''));

    const dry = await cli('move', '--from', redis.urls().source, '--to', other.url(), '--dry-run');
    const refused = await cli('move', '--from', redis.urls().source, '--to', other.url());

    for (const attempt of [dry, refused]) {
      expect(attempt.code).toBe(1);
      expect(attempt.stdout + attempt.stderr).toMatch(
        /3 job\(s\) are in flight from an interrupted transfer \(run transfer-[\w-]+\) to another target than redis:\/\/127\.0\.0\.1:\d+ \(target id [\w-]{16}; this one is (not named yet|[\w-]{16}): a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one\)\. They may already be written there, and writing them here too would run them twice\. Finish that run first: move again with --to that target\. If that target lost them \(restarted empty, flushed or gone\), delete their batch key\(s\) on the source \(sidekiq-migrate:transfer-[\w-]+:batch:(queue:a|schedule) sidekiq-migrate:transfer-[\w-]+:batch:(queue:a|schedule)\) and run again: they are then written here\. No job was written or moved\./,
      );
    }
    expect(sorted(await allJobs(source, ''))).toEqual(sourceBefore);
    expect(await allJobs(elsewhere, '')).toEqual([]);

    const finished = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(finished.code).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ complete: true, resumed: { resumed: 3, written: 3 } });
    expect(sorted(await allJobs(target, ''))).toEqual(seeded);
    expect(await allJobs(source, '')).toEqual([]);
  });

  it('hands them to another target once their batch keys are deleted (the first target lost them)', async () => {
    const [source, elsewhere] = [redis.source(), other.client()];
    const seeded = await interruptedTransferTo(redis.urls().target);
    await redis.target().flushall(); // the first target is gone, and what it held with it
    for (const key of await source.keys('sidekiq-migrate:*:batch:*')) await source.del(key);

    const moved = await cli('move', '--from', redis.urls().source, '--to', other.url(), '--json');

    expect(moved.code).toBe(0);
    expect(JSON.parse(moved.stdout)).toMatchObject({ complete: true, resumed: { resumed: 3, written: 3 } });
    expect(sorted(await allJobs(elsewhere, ''))).toEqual(seeded);
    expect(await allJobs(source, '')).toEqual([]);
  });
});
