// A run that left jobs behind AND had a --rename that moved nothing: its last line named only the
// rename ("Done, but --rename olq=x moved nothing …"), not the jobs it left, while the deployed
// summary of the same run logs "done, but jobs were left behind" (left-behind.ts). The verdict
// names both.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { leftBehindOf } from '../../core/workflow/left-behind.js';

const server = privateRedis();

describe('the verdict of a run that left jobs and had a rename that moved nothing', () => {
  it('names the jobs left behind and the rename, as the deployed summary does', async () => {
    const redis = server.client();
    await redis.sadd('queues', 'old');
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }), 'not a job');

    const run = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--rename', 'olq=x');
    const json = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--rename', 'olq=x', '--json');

    const last = run.stdout.trimEnd().split('\n').at(-1)!;
    expect(last).toBe('Done, but jobs were left behind: 1 left in place, 1 of them where nobody fetches; --rename olq=x moved nothing (see "Needs a look" above).');
    expect(leftBehindOf(JSON.parse(json.stdout)).verdict).toBe('left');
    expect(await redis.lrange('queue:old', 0, -1)).toEqual(['not a job']);
    expect(await redis.llen('queue:new')).toBe(1);
  });
});
