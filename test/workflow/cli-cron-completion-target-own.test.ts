// `move --cron` completes an older copy of ours (copyCronDefinition-4 or earlier put a definition
// named by `cron_jobs` and `cron_jobs:NS` on the source into the first set, `cron_jobs`, only) by
// adding it to the sets that copy left out. It did so whenever the target named the hash in any
// of the source's sets, so a definition the target's own 2.x Sidekiq saved (hash and
// `cron_jobs:NS`, never `cron_jobs`) was added to `cron_jobs` on the target, and the notice said
// an earlier copy had left it out. A 2.x poller, when it starts, re-creates every member of
// `cron_jobs` in the default namespace (sidekiq-cron job.rb migrate_old_jobs_if_needed!, the
// namespace forced to the default): a definition of another namespace then exists twice and is
// pushed by both (or overwrites the default namespace's definition of that name, a disabled one
// enabled). The completion now goes only from the set every copy of ours writes with the hash
// (the first naming it on the source): one the target names only in another set is its own, kept
// as it is, no set written.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();

describe("move --cron and a definition the target's own Sidekiq saved", () => {
  for (const namespace of ['reports', 'default']) {
    it(`namespace ${namespace}: named by cron_jobs:${namespace} only on the target, it is not added to cron_jobs there; kept, no set written`, async () => {
      const key = `cron_job:${namespace}:nightly`;
      const definition = { name: 'nightly', namespace, klass: 'W', cron: '0 3 * * *', message: '{"queue":"default","class":"W","args":[]}', status: 'enabled' };
      await redis.source().sadd('cron_jobs', key);
      await redis.source().sadd(`cron_jobs:${namespace}`, key);
      await redis.source().hset(key, definition);
      // The target's own save (a 2.x Sidekiq with its schedule): the hash and its namespace's set.
      await redis.target().hset(key, { ...definition, status: 'disabled', last_enqueue_time: '2026-12-07 03:00:00 +0000' });
      await redis.target().sadd(`cron_jobs:${namespace}`, key);
      const before = await redis.target().hgetall(key);

      const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');

      expect(carried.stderr).toContain('sidekiq-cron: 0 definition(s) copied to the target, 1 already defined there (kept); the source keeps its own.');
      expect(carried.stderr).not.toContain('earlier copy');
      expect(carried.code).toBe(0);
      expect({ v1: await redis.target().smembers('cron_jobs'), own: await redis.target().smembers(`cron_jobs:${namespace}`) }).toEqual({ v1: [], own: [key] });
      expect(await redis.target().hgetall(key)).toEqual(before);
    });
  }
});
