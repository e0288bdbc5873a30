// What drain-check says of a source an interrupted transfer left jobs in flight on: they are
// counted once, as in flight, under the run that holds them, and the run's in-flight sorted sets
// (`sidekiq-migrate:RUN:inflight:schedule`) are not taken for Sidekiq data under another prefix,
// which would advise carrying them over with `move --namespace` as if they were a second layout.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const cli = runCli;
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

describe('drain-check of one prefix after a transfer under another was interrupted', () => {
  it('names the jobs in flight under the other prefix, and refuses a prefix with nothing else under it', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const prefix = 'resque:gitlab:';
    await source.sadd(`${prefix}queues`, 'a');
    await source.lpush(`${prefix}queue:a`, sidekiqPayload({ className: 'A', queue: 'a' }), sidekiqPayload({ className: 'A', queue: 'a', args: '[2]' }));
    await source.zadd(`${prefix}schedule`, '1795459303.5', sidekiqPayload({ className: 'C', queue: 'a' }));
    await source.del(`${prefix}queues`);
    for (const key of ['queue:a', 'schedule']) await target.set(`${prefix}${key}`, 'not a job key');
    const interrupted = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--namespace', prefix);
    expect(interrupted.code).toBe(1);
    // All that is left under the prefix is in flight.
    expect((await source.keys(`${prefix}*`)).filter((k) => !k.includes('sidekiq-migrate:'))).toEqual([]);
    expect(await source.keys(`${prefix}sidekiq-migrate:*:inflight:*`)).toHaveLength(2);

    // Nothing at all without a prefix: a check there would find nothing, which is no verdict.
    const wrongPrefix = await cli('drain-check', '--redis', redis.urls().source);
    expect(wrongPrefix.code).toBe(2);
    expect(wrongPrefix.stderr).toBe(
      `No Sidekiq data without a prefix on ${redis.urls().source}, but Sidekiq keys are there under "resque:gitlab:" (2 keys): use --namespace resque:gitlab:. Nothing was touched.\n`,
    );

    // A Sidekiq ran without a prefix too: that layout is checked, and the jobs in flight under the other are named.
    await source.set('stat:processed', '12');
    const other = await cli('drain-check', '--redis', redis.urls().source);
    // The verdict is this prefix's, and its line says so: DRAINED is not "nothing left on this Redis".
    expect(other.stdout.split('\n')[0]).toBe(`${redis.urls().source}: DRAINED — 0 job(s) left under no prefix, and 3 under other prefixes (below)`);
    // No Sidekiq runs under the other prefix: nobody will run its jobs, and retiring this Redis
    // would lose them, so the exit code says so (it was 0).
    expect(other.code).toBe(3);
    expect(other.stdout).toContain(
      'Also on this Redis, not counted above: 3 job(s) under the prefix "resque:gitlab:", where no Sidekiq process runs: nobody will run them; 3 of them in flight from an interrupted transfer or quarantined, which no Sidekiq runs (check them with --namespace).',
    );
    expect(other.stdout).toContain(
      'jobs under another prefix of this Redis, not counted here ("resque:gitlab:": 3); 3 under "resque:gitlab:" in flight from an interrupted transfer or quarantined, will never run as things stand (exit code 3)',
    );
    expect(JSON.parse((await cli('drain-check', '--redis', redis.urls().source, '--json')).stdout).otherPrefixes).toEqual([{ prefix, keys: 2, jobs: 3, held: 3, liveProcesses: 0 }]);

    // A Sidekiq running under that prefix does not run jobs in flight: still exit 3, and why.
    await heartbeat(source, new SidekiqKeys(prefix), 'w:1:aaaaaaaaaaaa', ['a'], { beatAt: Date.now() / 1000 });
    const running = await cli('drain-check', '--redis', redis.urls().source);
    expect(running.code).toBe(3);
    expect(running.stdout).toContain(
      'Also on this Redis, not counted above: 3 job(s) under the prefix "resque:gitlab:", where 1 live Sidekiq process(es) run; 3 of them in flight from an interrupted transfer or quarantined, which no Sidekiq runs (check them with --namespace).',
    );
    expect(running.stdout).toContain('; 3 under "resque:gitlab:" in flight from an interrupted transfer or quarantined, will never run as things stand (exit code 3)');

    const own = await cli('drain-check', '--redis', redis.urls().source, '--namespace', prefix);
    expect(own.code).toBe(3);
    expect(own.stdout).toMatch(/STUCK — 3 job\(s\) left/);
  });
});
