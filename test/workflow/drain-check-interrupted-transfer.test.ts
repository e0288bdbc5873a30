// What drain-check says of a source an interrupted transfer left jobs in flight on: they are
// counted once, as in flight, under the run that holds them, and the run's in-flight sorted sets
// (`sidekiq-migrate:RUN:inflight:schedule`) are not taken for Sidekiq data under another prefix,
// which would advise carrying them over with `move --namespace` as if they were a second layout.
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const cli = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();

describe('drain-check after an interrupted transfer', () => {
  it('counts the jobs in flight once, names their run once, and sees no other prefix', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await source.sadd('queues', 'a', 'b');
    await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await source.lpush('queue:b', sidekiqPayload({ className: 'B', queue: 'b' }));
    await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'C', queue: 'a' }));
    await source.zadd('retry', '1795459304.5', sidekiqPayload({ className: 'D', queue: 'b' }));
    const before = sorted(await allJobs(source, ''));
    // Keys of the wrong type on the target stop every write after its claim: all four jobs wait in flight.
    for (const key of ['queue:a', 'queue:b', 'schedule', 'retry']) await target.set(key, 'not a job key');

    const interrupted = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(interrupted.code).toBe(1);
    const runs = new Set((await source.keys('sidekiq-migrate:*:inflight:*')).map((k) => k.split(':')[1]));
    expect(runs.size).toBe(1);
    const [run] = [...runs];

    const drain = await cli('drain-check', '--redis', redis.urls().source);

    expect(drain.code).toBe(3);
    expect(drain.stdout).toMatch(/STUCK — 4 job\(s\) left/);
    expect(drain.stdout).toContain(`  - 4 job(s) are in flight from interrupted transfers (${run}): run the transfer again to finish them\n`);
    expect(drain.stdout).not.toContain('another prefix');
    expect(drain.stdout).not.toContain('--namespace');

    for (const key of ['queue:a', 'queue:b', 'schedule', 'retry']) await target.del(key);
    const resumed = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ complete: true, resumed: { resumed: 4, written: 4 } });
    expect(sorted(await allJobs(target, ''))).toEqual(before);
    expect(await allJobs(source, '')).toEqual([]);
    const after = await cli('drain-check', '--redis', redis.urls().source);
    expect(after.stdout).toMatch(/DRAINED — 0 job\(s\) left/);
  });
});
