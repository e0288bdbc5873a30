// A re-run of `move --cron` after a copy made by copyCronDefinition-4 or earlier, which added a
// definition named by more than one set on the source (`cron_jobs` and `cron_jobs:default`, an
// upgrade to 2.x that left the 1.x set naming it) to the first set only: the target has the hash
// but a 2.x Sidekiq there does not read it (it reads `cron_jobs:default`). The re-run completes
// the sets and never writes the hash (saved on the target meanwhile, it is newer than ours).
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const key = 'cron_job:default:nightly';
const definition = { name: 'nightly', namespace: 'default', klass: 'W', cron: '0 3 * * *', message: '{"queue":"default","class":"W","args":[]}', status: 'enabled' };

describe('move --cron after an older copy into one set', () => {
  it('adds the definition to the set the older copy left out, the target\'s hash unchanged', async () => {
    await redis.source().sadd('cron_jobs', key);
    await redis.source().sadd('cron_jobs:default', key);
    await redis.source().hset(key, definition);
    // The older copy: the hash and the first set only; the target's poller has run it since.
    await redis.target().hset(key, { ...definition, last_enqueue_time: '2026-12-07 03:00:00 +0000' });
    await redis.target().sadd('cron_jobs', key);
    const targetBefore = await redis.target().hgetall(key);
    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');
    expect(carried.stderr).toContain('sidekiq-cron: 0 definition(s) copied to the target, 1 already defined there (kept; 1 of them added to the index set(s) naming it on the source that an earlier copy left out); the source keeps its own.');
    expect(carried.code).toBe(0);
    expect({ v2: await redis.target().smembers('cron_jobs:default'), v1: await redis.target().smembers('cron_jobs') }).toEqual({ v2: [key], v1: [key] });
    expect(await redis.target().hgetall(key)).toEqual(targetBefore);
    expect(await redis.target().keys('cron_job*')).toEqual(expect.arrayContaining([key, 'cron_jobs', 'cron_jobs:default']));
    expect((await redis.target().keys('cron_job:*')).filter((k) => k !== key)).toEqual([]);
    // A third run has nothing left to complete.
    const again = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');
    expect(again.stderr).toContain('sidekiq-cron: 0 definition(s) copied to the target, 1 already defined there (kept); the source keeps its own.');
    expect(again.code).toBe(0);
  });

  it('leaves a hash the target names in none of those sets as it is (not a copy of ours): no set written', async () => {
    await redis.source().sadd('cron_jobs', key);
    await redis.source().sadd('cron_jobs:default', key);
    await redis.source().hset(key, definition);
    await redis.target().hset(key, { ...definition, status: 'disabled' });
    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');
    expect(carried.stderr).toContain('sidekiq-cron: 0 definition(s) copied to the target, 1 already defined there (kept); the source keeps its own.');
    expect(carried.code).toBe(0);
    expect({ v2: await redis.target().smembers('cron_jobs:default'), v1: await redis.target().smembers('cron_jobs') }).toEqual({ v2: [], v1: [] });
    expect(await redis.target().hget(key, 'status')).toBe('disabled');
  });
});
