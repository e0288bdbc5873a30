// Jobs under another key prefix of the source Redis (GitLab's `resque:gitlab:` leftovers beside
// its unprefixed keys, another app's namespace, or the reverse: a run under --namespace with jobs
// under no prefix) are no run's to move unless told. The plan's note on stderr named them, but
// `run` and `move` ended with "Complete: everything that could be moved was moved" over them. The
// summary names them under "Not looked at by this run", with their keys and counts, and never
// says "Complete" over them; a same-server namespace move's own two prefixes are not "other".
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `00000000000000000000000${i}` });
const last = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

describe('run on a Redis with jobs under other prefixes', () => {
  const server = privateRedis();

  it('names their keys and counts under "Not looked at by this run", says "Done, but jobs were left behind", leaves them untouched (dry run too)', async () => {
    const redis = server.client();
    await redis.rpush('queue:old', job('old', 1));
    await redis.sadd('queues', 'old');
    await redis.rpush('resque:gitlab:queue:default', job('default', 2), job('default', 3));
    await redis.sadd('resque:gitlab:queues', 'default');
    await redis.zadd('other:schedule', '1795459303.5', job('default', 4));
    const elsewhere = [
      jobEntry('resque:gitlab:queue:default', job('default', 2)),
      jobEntry('resque:gitlab:queue:default', job('default', 3)),
      jobEntry('other:schedule', job('default', 4), '1795459303.5'),
    ];
    const words =
      '\nNot looked at by this run (other prefixes of this Redis: "resque:gitlab:", "other:"), 3 job(s): resque:gitlab:queue:default 2 · other:schedule 1. This run works under no prefix only: run again with --namespace and their prefix to move them.\n';

    const dry = await runCli('run', '--redis', server.url(), '--rename', 'old=new', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(words);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 3 under other prefixes this run did not look at (see "Needs a look" above).');
    expect(await jobsIn(redis)).toEqual([jobEntry('queue:old', job('old', 1)), ...elsewhere].sort());

    const result = await runCli('run', '--redis', server.url(), '--rename', 'old=new');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(words);
    expect(result.stdout).not.toContain('Complete');
    expect(last(result.stdout)).toBe('Done, but jobs were left behind: 3 under other prefixes this run did not look at (see "Needs a look" above).');
    expect(await jobsIn(redis)).toEqual([jobEntry('queue:new', withQueue(job('old', 1), 'old', 'new')), ...elsewhere].sort());
  });

  it('run --namespace app with jobs under no prefix: the reverse, named the same way', async () => {
    const redis = server.client();
    await redis.rpush('app:queue:old', job('old', 1));
    await redis.sadd('app:queues', 'old');
    await redis.zadd('retry', '1795459304.5', job('default', 2));

    const result = await runCli('run', '--redis', server.url(), '--namespace', 'app', '--rename', 'old=new');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '\nNot looked at by this run (other prefixes of this Redis: no prefix), 1 job(s): retry 1. This run works under the prefix "app:" only: run again with --namespace and their prefix (none: without --namespace) to move them.\n',
    );
    expect(last(result.stdout)).toBe('Done, but jobs were left behind: 1 under other prefixes this run did not look at (see "Needs a look" above).');
    expect(await jobsIn(redis)).toEqual([jobEntry('app:queue:new', withQueue(job('old', 1), 'old', 'new')), jobEntry('retry', job('default', 2), '1795459304.5')].sort());
  });

  it('as a user whose ACL hides the other prefix (~app:*): its keys named as not readable, never taken for empty, never "Complete"', async () => {
    const redis = server.client();
    await redis.acl('SETUSER', 'app-only', 'on', '>pw', '~app:*', '&*', '+@all');
    await redis.rpush('app:queue:old', job('old', 1));
    await redis.sadd('app:queues', 'old');
    await redis.rpush('queue:default', job('default', 2));
    const url = new URL(server.url());
    url.username = 'app-only';
    url.password = 'pw';
    try {
      const result = await runCli('run', '--redis', url.toString(), '--namespace', 'app', '--rename', 'old=new');

      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        '\nNot looked at by this run (other prefixes of this Redis), and could not be read: 1 Sidekiq key(s) this user may not read (its ACL hides them). What they hold was not moved; look at them as a user that may read them.\n',
      );
      expect(last(result.stdout)).toBe('Done, but jobs may have been left behind: 1 key(s) under other prefixes could not be read (see "Needs a look" above).');
      expect(await jobsIn(redis)).toEqual([jobEntry('app:queue:new', withQueue(job('old', 1), 'old', 'new')), jobEntry('queue:default', job('default', 2))].sort());
    } finally {
      await redis.acl('DELUSER', 'app-only');
    }
  });
});

describe('move from a Redis with jobs under other prefixes', () => {
  const redis = privateSourceAndTarget();

  it('move --namespace app to another Redis: the unprefixed jobs and another prefix named, never "Complete"; they stay on the source', async () => {
    const source = redis.source();
    await source.rpush('app:queue:default', job('default', 1), job('default', 2));
    await source.sadd('app:queues', 'default');
    await source.rpush('queue:default', job('default', 3), job('default', 4));
    await source.zadd('retry', '1795459305.5', job('default', 5));
    await source.rpush('other:queue:mail', job('mail', 6));

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--namespace', 'app', '--to-namespace', '');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '\nNot looked at by this run (other prefixes of this Redis: no prefix, "other:"), 4 job(s): queue:default 2 · other:queue:mail 1 · retry 1. This run works under the prefix "app:" only: run again with --namespace and their prefix (none: without --namespace) to move them.\n',
    );
    expect(result.stdout).not.toContain('Complete');
    expect(last(result.stdout)).toBe('Done, but jobs were left behind: 4 under other prefixes this run did not look at (see "Needs a look" above).');
    expect(await jobsIn(source)).toEqual(
      [jobEntry('queue:default', job('default', 3)), jobEntry('queue:default', job('default', 4)), jobEntry('retry', job('default', 5), '1795459305.5'), jobEntry('other:queue:mail', job('mail', 6))].sort(),
    );
    expect(await jobsIn(redis.target())).toEqual([jobEntry('queue:default', job('default', 1)), jobEntry('queue:default', job('default', 2))].sort());
  });
});

describe('a same-server namespace move: its own two prefixes are not "other prefixes"', () => {
  const server = privateRedis();

  it('resque:gitlab: onto no prefix, with jobs already under no prefix and our keys on both sides: "Complete", nothing named', async () => {
    const redis = server.client();
    await redis.rpush('resque:gitlab:queue:default', job('default', 1), job('default', 2));
    await redis.sadd('resque:gitlab:queues', 'default');
    await redis.zadd('resque:gitlab:retry', '1795459306.5', job('default', 3));
    // The target prefix's own jobs, and a quarantine list there (ours; jobs nobody runs, but the target's, not this run's source's).
    await redis.rpush('queue:default', job('default', 4));
    await redis.sadd('queues', 'default');
    await redis.zadd('schedule', '1795459307.5', job('default', 5));
    await redis.rpush('sidekiq-migrate:quarantine:default', job('default', 6));
    await redis.set('resque:gitlab:sidekiq-migrate:target-id', 'an-earlier-target-id');

    // A dry run writes no target id: the servers' identities tell it is one Redis.
    const dry = await runCli('move', '--from', server.url(), '--to', server.url(), '--namespace', 'resque:gitlab', '--to-namespace', '', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stderr).not.toContain('also holds');
    expect(dry.stdout).not.toContain('Not looked at');
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 3 job(s) and leave none behind.');

    const result = await runCli('move', '--from', server.url(), '--to', server.url(), '--namespace', 'resque:gitlab', '--to-namespace', '');

    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('also holds');
    expect(result.stdout).not.toContain('Not looked at');
    expect(last(result.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(redis)).toEqual(
      [
        jobEntry('queue:default', job('default', 4)),
        jobEntry('queue:default', job('default', 1)),
        jobEntry('queue:default', job('default', 2)),
        jobEntry('retry', job('default', 3), '1795459306.5'),
        jobEntry('schedule', job('default', 5), '1795459307.5'),
      ].sort(),
    );
    expect(await redis.lrange('sidekiq-migrate:quarantine:default', 0, -1)).toEqual([job('default', 6)]);
  });

  it('a: onto b: with jobs under c: too: only c: is named', async () => {
    const redis = server.client();
    await redis.rpush('a:queue:default', job('default', 1));
    await redis.sadd('a:queues', 'default');
    await redis.rpush('b:queue:default', job('default', 2));
    await redis.zadd('c:dead', '1795459308.5', job('default', 3));

    const result = await runCli('move', '--from', server.url(), '--to', server.url(), '--namespace', 'a', '--to-namespace', 'b');

    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('under the prefix "b:"');
    expect(result.stdout).toContain(
      '\nNot looked at by this run (other prefixes of this Redis: "c:"), 1 job(s): c:dead 1. This run works under the prefix "a:" only: run again with --namespace and their prefix to move them.\n',
    );
    expect(last(result.stdout)).toBe('Done, but jobs were left behind: 1 under other prefixes this run did not look at (see "Needs a look" above).');
    expect(await jobsIn(redis)).toEqual([jobEntry('b:queue:default', job('default', 1)), jobEntry('b:queue:default', job('default', 2)), jobEntry('c:dead', job('default', 3), '1795459308.5')].sort());
  });
});
