// A re-route with --no-queues leaves the queues it retires alone, and says what they hold ("Not
// looked at by this run"). The jobs workers took from those queues into their fetchers' private
// lists were not looked for at all: a gone worker's job, which nobody runs, ended under
// "Complete: everything that could be moved was moved."
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();

describe('a re-route with --no-queues over a gone worker\'s private list of a retired queue', () => {
  it('names the job it holds and never says "Complete"', async () => {
    const redis = server.client();
    const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    await redis.sadd('queues', 'old');
    await redis.zadd('schedule', '1795459303.5', job(1));
    const taken = job(2);
    await redis.rpush('working:queue:old:gone-host:4242:0a1b2c3d4e5f', taken);

    const run = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--no-queues');

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 job(s) taken from retired queues by workers that are gone, in their fetchers\' private lists (working:queue:old:gone-host:4242:0a1b2c3d4e5f 1)');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
    expect(await redis.lrange('working:queue:old:gone-host:4242:0a1b2c3d4e5f', 0, -1)).toEqual([taken]);
  });
});
