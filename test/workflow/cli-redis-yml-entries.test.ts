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
// its `db:` ignored (the jobs written to database 0). And entries this tool cannot use — Sentinel,
// Cluster, a Unix socket with a password: of its own, an encrypted secret_file, a template still holding ERB — are refused
// when named, each with the file, the store and what to do (exit 2, nothing touched); one of them
// in the file no longer refuses the other stores.
const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-redis-yml-entries-');
const hostPort = (url: string) => url.replace('redis://', '');

const MAIN_PASSWORD = 'main p%w@rd:/#';
const SHARD_PASSWORD = 'shard-pw';
const EXTRA = '  queues_shard_elsewhere:\n    sentinels:\n      - host: sentinel.internal\n        port: 26379\n';

describe("redis.yml entries' own keys", { timeout: 120_000 }, () => {
  it("move between two stores: each entry's password: (over a url without one, and over a url with an old one) and db: are the ones used", async () => {
    const { source, target } = redis.urls();
    const yml = file(
      'redis.yml',
      `production:\n  main:\n    url: "${source}"\n    password: ${JSON.stringify(MAIN_PASSWORD)}\n` +
        `  queues_shard_catchall_b:\n    url: "redis://:old-pw@${hostPort(target)}/0"\n    password: "${SHARD_PASSWORD}"\n    db: 2\n${EXTRA}`,
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

describe("redis.yml: an entry's password: written empty", { timeout: 120_000 }, () => {
  // GitLab merges the entry's keys over its url's (Hash#merge): a `password:` written empty (YAML
  // null) replaces the url's password with none, and redis-client then sends no AUTH; `password: ""`
  // is an empty password, which a server without one takes and a server with one refuses. Both read
  // here as no password: the url's was sent (AUTH), reaching a server GitLab itself does not.
  it.each([['password:'], ['password: ""']])("%s beside a url with a password: no password, as GitLab reads it", async (line) => {
    const { source, target } = redis.urls();
    const yml = file('empty-password.yml', `production:\n  main:\n    url: "redis://:url-pw@${hostPort(source)}"\n    ${line}\n  queues_shard_catchall_b:\n    url: "${target}"\n`);
    const job = sidekiqPayload({ className: 'A', args: '[1]' });
    await redis.source().rpush('queue:default', job);
    await redis.source().sadd('queues', 'default');

    const moved = await runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).not.toContain('asks for no password');
    await expectExactJobs(redis.target(), '', [jobEntry('queue:default', job)], 'the job moved');

    await redis.source().config('SET', 'requirepass', 'url-pw');
    try {
      const refused = await runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(`source ${source}: authentication failed (NOAUTH Authentication required.)\n`);
    } finally {
      await redis.source().config('SET', 'requirepass', '');
    }
  });
});

describe('redis.yml entries this tool cannot use', { timeout: 120_000 }, () => {
  const yml = () =>
    file(
      'unusable.yml',
      `production:\n  main:\n    url: "${redis.urls().source}"\n` +
        `  queues_shard_sentinel:\n    url: redis://gitlab-redis\n    sentinels:\n      - host: sentinel.internal\n        port: 26379\n` +
        `  queues_shard_cluster:\n    cluster:\n      - redis://node-1.internal:6379\n` +
        `  queues_shard_socket:\n    url: unix:/var/opt/gitlab/redis/redis.socket\n    password: "pw"\n` +
        `  queues_shard_secret:\n    url: "${redis.urls().target}"\n    secret_file: /etc/gitlab/redis-secrets/queues.yml.enc\n` +
        `  queues_shard_nourl:\n    db: 1\n`,
    );
  const refused = (store: string) => async () => {
    const path = yml();
    const { stderr } = await refusedUntouched(redis, () => runCli('move', '--redis-yml', path, '--from', 'main', '--to', store, '--classes', 'A'));
    return { stderr, path };
  };

  it.each([
    ['queues_shard_sentinel', "queues_shard_sentinel cannot be used: it reaches its Redis through Sentinel (sentinels:; its url names the primary's group, not a server), which this tool does not: give the current primary's address as redis://host:port instead of the store name (a sentinel tells it: SENTINEL get-master-addr-by-name <name>)"],
    ['queues_shard_cluster', 'queues_shard_cluster cannot be used: it is a Redis Cluster (cluster:), which this tool does not support (nor does Sidekiq): give the URL of the one Redis that holds the jobs instead of the store name'],
    [
      'queues_shard_socket',
      "queues_shard_socket cannot be used: its password: (or username:) beside a Unix socket url cannot be written into that url: give the socket's URL (unix:///path) instead of the store name, with --password (or its variable)",
    ],
    ['queues_shard_nourl', 'queues_shard_nourl cannot be used: it has no url: give its Redis URL instead of the store name'],
  ])('%s: one message naming the file and the store, exit 2, nothing touched', async (store, why) => {
    const { stderr, path } = await refused(store)();
    expect(stderr).toBe(`--to ${store}: ${path}'s ${why}\n`);
  });

  it('a secret_file entry without a password given apart: what to give', async () => {
    const { stderr, path } = await refused('queues_shard_secret')();
    expect(stderr).toBe(
      `--to queues_shard_secret: ${path}'s queues_shard_secret keeps its password in GitLab's encrypted secret_file, which this tool cannot read: give the password with --to-password or --password (or $SIDEKIQ_MIGRATE_TO_PASSWORD or $SIDEKIQ_MIGRATE_PASSWORD)\n`,
    );
  });

  it('a file still holding ERB (a template): refused whole, the password it would read never shown', async () => {
    const path = file('template.yml', `production:\n  main:\n    url: "${redis.urls().source}"\n    password: <%= File.read("/etc/gitlab/redis/redis-password").strip.to_json %>\n  queues_shard_catchall_b:\n    url: "${redis.urls().target}"\n`);
    const { stderr } = await refusedUntouched(redis, () => runCli('move', '--redis-yml', path, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A'));
    expect(stderr).toBe(`${path}: the file still holds ERB (<% … %>), which GitLab renders when it reads it (a Helm chart's or Omnibus's template): give the rendered file, or the Redis URL (and --password) instead of a store name\n`);
  });
});
