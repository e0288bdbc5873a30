import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A set the run's --sets left out that is not a sorted set (here a string): ZCARD answers
// WRONGTYPE. The summary counted that reply as 0 jobs and said "Complete: everything that could be
// moved was moved" over a key it could not count. It names the key and the error, and never says
// "Complete".
const server = privateRedis();
const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });

describe('a left-out set the summary cannot count', () => {
  it('run --sets schedule with retry a string: the key and the error named, never "Complete"', async () => {
    const redis = server.client();
    await redis.rpush('queue:old', queued);
    await redis.sadd('queues', 'old');
    await redis.set('retry', 'not a sorted set');

    const result = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--sets', 'schedule');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '\nNot looked at by this run (--sets), and could not be counted: retry (WRONGTYPE Operation against a key holding the wrong kind of value). What it holds was not moved; look at it with redis-cli.\n',
    );
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs may have been left behind: 1 set or queue this run did not look at could not be counted (see "Needs a look" above).');
    await expectExactJobs(redis, '', [jobEntry('queue:new', withQueue(queued, 'old', 'new'))]);
    expect(await redis.get('retry')).toBe('not a sorted set');
  });

  it('a dry run: never "leave none behind" over it', async () => {
    const redis = server.client();
    await redis.rpush('queue:old', queued);
    await redis.sadd('queues', 'old');
    await redis.set('retry', 'not a sorted set');

    const result = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--sets', 'schedule', '--dry-run');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('\nNot looked at by this run (--sets), and could not be counted: retry (WRONGTYPE Operation against a key holding the wrong kind of value).');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Dry run, nothing written: a run would move 1 job(s) and maybe leave jobs behind: 1 set or queue this run did not look at could not be counted (see "Needs a look" above).',
    );
    await expectExactJobs(redis, '', [jobEntry('queue:old', queued)]);
  });
});
