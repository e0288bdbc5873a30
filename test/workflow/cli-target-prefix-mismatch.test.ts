import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// An operator's slip in the Redis-move runbook: the new Redis's Sidekiq runs under GitLab's old
// prefix (resque:gitlab:) and the move is given no --to-namespace (or the other way round). Every
// job then lands under a prefix no process fetches from, and the summary said "Complete": the
// unheard-queues check looks at the processes under the prefix written to, and there were none.
// Refused before anything is touched, naming the prefix the target's processes use.
const redis = privateSourceAndTarget();
const now = () => Math.floor(Date.now() / 1000);
const job = (i: number) => sidekiqPayload({ className: 'PostReceive', queue: 'post_receive', args: `[${i}]`, jid: `pr${i}`.padStart(24, '0') });

describe('a move whose target runs its Sidekiq under another prefix', { timeout: 120_000 }, () => {
  it('is refused, dry run or not: one message naming the prefix, exit 2, nothing touched on either side', async () => {
    const source = redis.source();
    const target = redis.target();
    await source.lpush('queue:post_receive', job(1), job(2));
    await source.zadd('retry', '1700000000', job(3));
    await source.sadd('queues', 'post_receive');
    await heartbeat(target, new SidekiqKeys('resque:gitlab:'), 'new:1:aaaaaaaaaaaa', ['post_receive', 'default'], { beatAt: now(), beating: false });
    const before = { source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) };

    for (const dry of [['--dry-run'], []]) {
      const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, ...dry);
      expect(move.code, move.stdout + move.stderr).toBe(2);
      expect(move.stdout).toBe('');
      expect(move.stderr.trim()).toBe(
        `Target ${redis.urls().target}: its live Sidekiq processes run under the prefix "resque:gitlab:" (1), none under no prefix, where this move would write: the jobs moved would wait where no process fetches them. Give the target's prefix (--to-namespace 'resque:gitlab:'; deployed: the target connection's prefix), or start the target's Sidekiq under no prefix first. Nothing was touched.`,
      );
    }
    expect({ source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) }).toEqual(before);
  });

  it('goes on with the target prefix its processes use, and when some run under the prefix written to', async () => {
    const source = redis.source();
    const target = redis.target();
    await source.lpush('queue:post_receive', job(1));
    await source.sadd('queues', 'post_receive');
    await heartbeat(target, new SidekiqKeys('resque:gitlab:'), 'new:1:bbbbbbbbbbbb', ['post_receive'], { beatAt: now(), beating: false });

    const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--to-namespace', 'resque:gitlab:');

    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await target.lrange('resque:gitlab:queue:post_receive', 0, -1)).toEqual([job(1)]);

    // Processes under both prefixes of the target (another application's beside GitLab's): the move's own prefix has one.
    await source.lpush('queue:post_receive', job(2));
    await heartbeat(target, new SidekiqKeys(''), 'new:2:cccccccccccc', ['post_receive'], { beatAt: now(), beating: false });
    const again = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(again.code, again.stderr).toBe(0);
    expect(await target.lrange('queue:post_receive', 0, -1)).toEqual([job(2)]);
  });
});
