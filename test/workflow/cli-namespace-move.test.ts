// GitLab's namespace move (16.5–16.7): `resque:gitlab:*` moved to no prefix, leftovers never
// deleted, so one Redis holds both layouts. Both are named, and one `move` on the same Redis
// carries the leftovers onto the unprefixed layout, leaving no job behind.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const server = privateRedis();
const cli = runCli;
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
const jobs = Array.from({ length: 9 }, (_, i) => job(i));

describe("GitLab's namespace move: resque:gitlab: leftovers beside unprefixed keys", () => {
  it('the plan and drain-check name the other layout; one move on the same Redis carries it over, nothing left behind', async () => {
    const redis = server.client();
    await redis.lpush('queue:default', jobs[0]!, jobs[1]!);
    await redis.zadd('schedule', '1795459303.5', jobs[2]!);
    await redis.lpush('resque:gitlab:queue:default', jobs[3]!, jobs[4]!, jobs[5]!);
    await redis.zadd('resque:gitlab:schedule', '1795459304.5', jobs[6]!, '1795459305.5', jobs[7]!);
    await redis.zadd('resque:gitlab:retry', '1795459306.5', jobs[8]!);
    const expected = (await allJobs(redis, '')).map((j) => ({ ...j, key: j.key.replace(/^resque:gitlab:/, '') }));

    const planned = await cli('run', '--redis', server.url(), '--rename', 'old=new', '--dry-run');
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain('Note: this Redis also holds 6 job(s) under the prefix "resque:gitlab:", which this run does not touch.');

    // No Sidekiq runs under resque:gitlab: (GitLab moved to no prefix): nobody will run those 6.
    const before = await cli('drain-check', '--redis', server.url());
    expect(before.code).toBe(3);
    expect(before.stdout).toContain('jobs under another prefix of this Redis, not counted here ("resque:gitlab:": 6); 6 under "resque:gitlab:", where no Sidekiq process runs, will never run as things stand (exit code 3)');
    expect(before.stdout).toContain('Also on this Redis, not counted above: 6 job(s) under the prefix "resque:gitlab:", where no Sidekiq process runs: nobody will run them (check them with --namespace).');
    // With a Sidekiq running under that prefix too (two apps sharing the Redis), they will run: named, exit as this prefix's verdict says.
    await heartbeat(redis, new SidekiqKeys('resque:gitlab:'), 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000, beating: false });
    await heartbeat(redis, new SidekiqKeys(''), 'w:2:bbbbbbbbbbbb', ['default'], { beatAt: Date.now() / 1000, beating: false });
    const shared = await cli('drain-check', '--redis', server.url());
    expect(shared.stdout).toContain('Also on this Redis, not counted above: 6 job(s) under the prefix "resque:gitlab:", where 1 live Sidekiq process(es) run (check them with --namespace).');
    expect(shared.stdout).not.toContain('will never run');
    expect(shared.code).toBe(0);
    await redis.del('resque:gitlab:processes', 'resque:gitlab:w:1:aaaaaaaaaaaa', 'processes', 'w:2:bbbbbbbbbbbb');

    const moved = await cli('move', '--from', server.url(), '--to', server.url(), '--namespace', 'resque:gitlab', '--to-namespace', '');

    expect(moved.code).toBe(0);
    // The unprefixed keys are this move's target: not "another prefix" the run does not touch.
    expect(moved.stderr).not.toContain('also holds');
    expect(moved.stdout).toContain('Complete');
    // A transfer's destinations are sets as well as queues, and the line says which.
    expect(moved.stdout).toContain('Written to (2 sets, 1 queue): default 3 · schedule 2 · retry 1\n');
    expect(sorted(await allJobs(redis, ''))).toEqual(sorted(expected));
    // Nothing left under the old prefix but the run's record of what it was started with (30 days:
    // its id is never resumed with other routing or classes, started-with.ts) and of its finish (an
    // hour: what a retried summary answers, run-finish-record.ts).
    expect((await redis.keys('resque:gitlab:*')).sort()).toEqual([
      expect.stringMatching(/^resque:gitlab:sidekiq-migrate:transfer-[0-9a-f-]+:finished$/),
      expect.stringMatching(/^resque:gitlab:sidekiq-migrate:transfer-[0-9a-f-]+:started-with$/),
    ]);
    const after = await cli('drain-check', '--redis', server.url(), '--json');
    expect(JSON.parse(after.stdout).otherPrefixes).toEqual([]);
    // Those records are no Sidekiq data and no leftover: under the old prefix the drain check and a
    // new move find none (the same words as on a prefix that never had any), nothing touched. It is
    // kept on purpose for the 30 days of a run's moves record (started-with.ts).
    const kept = await keyValueSnapshot(redis);
    const old = await cli('drain-check', '--redis', server.url(), '--namespace', 'resque:gitlab');
    const again = await cli('move', '--from', server.url(), '--to', server.url(), '--namespace', 'resque:gitlab', '--to-namespace', '');
    for (const [attempt, where] of [[old, ''], [again, 'source ']] as const) {
      expect(attempt.stderr).toBe(`No Sidekiq data under the prefix "resque:gitlab:" on ${where}${server.url()}, but Sidekiq keys are there under no prefix (4 keys): leave out --namespace. Nothing was touched.\n`);
      expect(attempt.code).toBe(2);
    }
    expect(await keyValueSnapshot(redis)).toEqual(kept);
  });
});
