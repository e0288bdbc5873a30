// Sidekiq takes any queue name, `|` included (`sidekiq_options queue: "billing|eu"`). Queue
// discovery skipped every `queue:*` key whose name held a `|` as a Sidekiq Pro super_fetch private
// list, whose names are `queue:sq|IDENTITY|QUEUE` only: a real queue `a|b` was never moved by
// `run` or `move`, each saying its jobs "arrived during the run: run again" (they were there from
// the start, and no run ever moved them), and drain-check never counted them. Only names of
// super_fetch's shape are private lists now; such a list of the queue `a|b` still is one.
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

const PRIVATE = 'queue:sq|sidekiq-1:4242:0a1b2c3d4e5f|a|b';
const first = sidekiqPayload({ className: 'A', queue: 'a|b', args: '[1]', jid: '000000000000000000000001' });
const second = sidekiqPayload({ className: 'A', queue: 'a|b', args: '[2]', jid: '000000000000000000000002' });
const taken = sidekiqPayload({ className: 'A', queue: 'a|b', args: '[3]', jid: '000000000000000000000003' });
const other = sidekiqPayload({ className: 'B', queue: 'default', args: '[4]', jid: '000000000000000000000004' });

async function seed(): Promise<void> {
  const source = redis.source();
  await source.rpush('queue:a|b', first, second);
  await source.rpush('queue:default', other);
  await source.sadd('queues', 'a|b', 'default');
  // A super_fetch process that is gone took one job of `a|b` into its private list.
  await source.rpush(PRIVATE, taken);
}

const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

describe('a queue whose name holds "|"', { timeout: 120_000 }, () => {
  it('run --rename "a|b=c" moves its jobs and names only the private list of a gone worker', async () => {
    await seed();

    const result = await runCli('run', '--redis', redis.urls().source, '--rename', 'a|b=c');

    expect(result.code).toBe(0);
    await expectExactJobs(redis.source(), '', [
      jobEntry('queue:c', withQueue(first, 'a|b', 'c')),
      jobEntry('queue:c', withQueue(second, 'a|b', 'c')),
      jobEntry('queue:default', other),
      jobEntry(PRIVATE, taken),
    ]);
    expect(result.stdout).not.toContain('arrived on retired queues');
    expect(result.stdout).toContain(`(${PRIVATE} 1)`);
    expect(lastLine(result.stdout)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
  });

  it('move carries its jobs to the new Redis; drain-check of the old one then finds only the private list', async () => {
    await seed();

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.code).toBe(0);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:a|b', first), jobEntry('queue:a|b', second), jobEntry('queue:default', other)]);
    await expectExactJobs(redis.source(), '', [jobEntry(PRIVATE, taken)]);
    expect(await redis.target().smembers('queues')).toEqual(expect.arrayContaining(['a|b', 'default']));
    expect(result.stdout).not.toContain('still on the source');
    expect(lastLine(result.stdout)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');

    const check = await runCli('drain-check', '--redis', redis.urls().source);
    expect(check.code).toBe(3);
    expect(check.stdout.split('\n')[0]).toBe(`${redis.urls().source}: STUCK — 1 job(s) left`);
  });

  it('drain-check counts a job waiting on it', async () => {
    await redis.source().rpush('queue:a|b', first);
    await redis.source().sadd('queues', 'a|b');

    const check = await runCli('drain-check', '--redis', redis.urls().source);

    expect(check.stdout.split('\n')[0]).toBe(`${redis.urls().source}: STUCK — 1 job(s) left`);
    expect(check.code).toBe(3);
  });
});
