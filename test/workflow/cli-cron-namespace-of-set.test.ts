// A sidekiq-cron 2.x definition is carried into the set it was found in (`cron_jobs:NAMESPACE`),
// whatever its hash holds: one without a `name` field went into 1.x's `cron_jobs`, where a 2.x
// Sidekiq on the target does not read it (its migration of old jobs drops one it finds invalid).
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();

describe('move --cron and the 2.x namespace', () => {
  it('move --cron carries a 2.x definition into the index set it was found in', async () => {
    const key = 'cron_job:default:nameless';
    await redis.source().sadd('cron_jobs:default', key);
    await redis.source().hset(key, { namespace: 'default', klass: 'W', cron: '* * * * *', message: '{"queue":"default","class":"W","args":[]}', status: 'enabled' });
    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');
    expect(carried.code).toBe(0);
    expect({ v2: await redis.target().smembers('cron_jobs:default'), v1: await redis.target().smembers('cron_jobs') }).toEqual({ v2: [key], v1: [] });
  });
});

describe('move --cron and a definition named by more than one set', () => {
  // A member of both `cron_jobs` and `cron_jobs:default` (an upgrade to 2.x that left the 1.x set
  // naming it): a 2.x Sidekiq on the source reads it by `cron_jobs:default`. Carried into the first
  // set read only (`cron_jobs`), a 2.x Sidekiq on the target does not read it there, and its
  // migration of old jobs drops one without a `name` field.
  it('move --cron carries it into every set that names it on the source', async () => {
    const key = 'cron_job:default:nameless';
    await redis.source().sadd('cron_jobs', key);
    await redis.source().sadd('cron_jobs:default', key);
    await redis.source().hset(key, { namespace: 'default', klass: 'W', cron: '* * * * *', message: '{"queue":"default","class":"W","args":[]}', status: 'enabled' });
    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');
    expect(carried.code).toBe(0);
    expect(carried.stderr).toContain('sidekiq-cron: 1 definition(s) copied to the target; the source keeps its own.');
    expect({ v2: await redis.target().smembers('cron_jobs:default'), v1: await redis.target().smembers('cron_jobs') }).toEqual({ v2: [key], v1: [key] });
    expect(await redis.target().hgetall(key)).toEqual(await redis.source().hgetall(key));
  });
});
