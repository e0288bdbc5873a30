import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

// GitLab's redis.yml as installations write it: an entry's `password:`, `username:` and `db:` win
// over its url's (Gitlab::Redis::Wrapper merges the entry's keys over the URL's). Only `url` was
// read: a store whose password is in `password:` was reached without it (authentication refused),
// its `db:` ignored (the jobs written to database 0).
const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-redis-yml-entries-');
const hostPort = (url: string) => url.replace('redis://', '');

const MAIN_PASSWORD = 'main p%w@rd:/#';
const SHARD_PASSWORD = 'shard-pw';

describe("redis.yml entries' own keys", { timeout: 120_000 }, () => {
  it("move between two stores: each entry's password: (over a url without one, and over a url with an old one) and db: are the ones used", async () => {
    const { source, target } = redis.urls();
    const yml = file(
      'redis.yml',
      `production:\n  main:\n    url: "${source}"\n    password: ${JSON.stringify(MAIN_PASSWORD)}\n` +
        `  queues_shard_catchall_b:\n    url: "redis://:old-pw@${hostPort(target)}/0"\n    password: "${SHARD_PASSWORD}"\n    db: 2\n`,
    );
    const moving = [sidekiqPayload({ className: 'A', args: '[1]' }), sidekiqPayload({ className: 'A', args: '[2]' })];
    const staying = sidekiqPayload({ className: 'B', args: '[3]' });
    await redis.source().rpush('queue:default', moving[0]!, staying, moving[1]!);
    await redis.source().sadd('queues', 'default');
    await redis.source().config('SET', 'requirepass', MAIN_PASSWORD);
    await redis.target().config('SET', 'requirepass', SHARD_PASSWORD);
    const shardDb = new Redis(`${target}/2`, { password: SHARD_PASSWORD, protocol: 2 });
    try {
      const moved = await runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A');

      expect(moved.code, moved.stderr).toBe(0);
      expect(moved.stdout).toContain('Complete');
      expect(`${moved.stdout}${moved.stderr}`).not.toMatch(/p%w@rd|shard-pw|old-pw/);
      await expectExactJobs(redis.source(), '', [jobEntry('queue:default', staying)], 'main keeps the class not selected');
      await expectExactJobs(shardDb, '', moving.map((p) => jobEntry('queue:default', p)), "the shard's database 2 has the moved class");
      expect(await redis.target().dbsize()).toBe(0);
    } finally {
      shardDb.disconnect();
      await redis.source().config('SET', 'requirepass', '');
      await redis.target().config('SET', 'requirepass', '');
    }
  });

  it("--to-password beside the entry's different password: refused as a URL's would be, naming the file's entry", async () => {
    const { source, target } = redis.urls();
    const yml = file('redis-2.yml', `production:\n  main:\n    url: "${source}"\n  queues_shard_catchall_b:\n    url: "${target}"\n    password: "in-file"\n`);
    const { stderr } = await refusedUntouched(redis, () => runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A', '--to-password', 'typed'));

    expect(stderr).toBe(
      `--to-password: --to queues_shard_catchall_b (${target.replace('redis://', 'redis://:***@')}) has a password of its own, a different one: which is meant is not clear (ioredis takes the URL's, redis-cli the last given). Give the password in one place: leave --to-password out, or take the password out of its entry in ${yml}\n`,
    );
  });
});
