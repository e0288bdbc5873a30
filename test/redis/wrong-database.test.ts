import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';

// The real executable against a private server whose Sidekiq lives in database 0, pointed at
// database 1 (a wrong number in the URL): "DRAINED" or "nothing was there to move" would be false.
const redis = privateRedis();
const bin = repoPath('bin/sidekiq-migrate.js');
const exec = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: '/' });
const JOB = '{"class":"HardWorker","queue":"old","args":[1],"jid":"0123456789abcdef01234567","created_at":1.5,"enqueued_at":1.5}';

describe('a URL naming a database without Sidekiq data while another database has some', () => {
  it.each([
    ['drain-check', (url: string) => ['drain-check', '--redis', url]],
    ['run', (url: string) => ['run', '--redis', url, '--rename', 'old=new']],
  ])('%s exits 2 naming the database that has it, and touches nothing', async (_, args) => {
    const client = redis.client();
    await client.sadd('queues', 'old');
    await client.lpush('queue:old', JOB);
    const url = `${redis.url().replace(/\/\d+$/, '')}/1`;

    const result = exec(...args(url));

    expect(result.stderr).toMatch(/^No Sidekiq data in database 1 of (source )?redis:\/\/127\.0\.0\.1:\d+\/1, but Sidekiq keys are there in database 0 \(2 keys\): put \/0 at the end of the URL\. Nothing was touched\.\n$/);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(2);
    expect(await client.lrange('queue:old', 0, -1)).toEqual([JOB]);
    expect(await client.keys('*')).toHaveLength(2);
    await client.select(1);
    expect(await client.dbsize()).toBe(0);
    await client.select(0);
  });
});
