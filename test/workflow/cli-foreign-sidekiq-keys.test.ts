import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

// Sidekiq's `queues` and `processes` are sets that a run reads as a whole (discovery, the summary's
// listeners) and writes (`queues`, for every queue it pushes to). Held by another type (a wrong
// prefix, another application's key), a run moved the sets' entries, failed every queue, then its
// summary with an unnamed WRONGTYPE, and said "run the same command again", which failed the same
// way; `processes` of another type let it move every job and then fail. Refused before anything is
// touched now, naming the key, as any other bad input.
const redis = privateSourceAndTarget();

const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `00000000000000000000000${i}` });

async function seed(source: Redis): Promise<void> {
  await source.rpush('queue:old', job('old', 1), job('old', 2));
  await source.zadd('schedule', '1700000000', job('old', 3));
}

describe("Sidekiq's run-wide sets held by another type", { timeout: 180_000 }, () => {
  it('run --rename old=new with `queues` a list: exit 2 naming the key, nothing touched (dry run too)', async () => {
    const source = redis.source();
    await seed(source);
    await source.rpush('queues', 'old');
    const before = await keyValueSnapshot(source, '');

    for (const extra of [[], ['--dry-run']]) {
      const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', ...extra);

      expect(code).toBe(2);
      expect(stderr).toContain('queues holds a list, not the set Sidekiq keeps there');
      expect(stderr).toContain('Nothing was touched.');
      expect(stdout).not.toContain('Complete');
      expect(await keyValueSnapshot(source, '')).toEqual(before);
    }
  });

  it('run with `processes` a string: exit 2 naming the key, every job where it was', async () => {
    const source = redis.source();
    await seed(source);
    await source.sadd('queues', 'old');
    await source.set('processes', 'x');
    const before = await keyValueSnapshot(source, '');

    const { code, stderr } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(code).toBe(2);
    expect(stderr).toContain('processes holds a string, not the set Sidekiq keeps there');
    expect(await keyValueSnapshot(source, '')).toEqual(before);
  });

  it("move with the target's `queues` a hash: exit 2 naming the target's key, nothing touched on either side", async () => {
    const [source, target] = [redis.source(), redis.target()];
    await seed(source);
    await source.sadd('queues', 'old');
    await target.hset('queues', 'a', 'b');
    const before = [await keyValueSnapshot(source, ''), await keyValueSnapshot(target, '')];

    const { code, stderr } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(code).toBe(2);
    expect(stderr).toContain(`target ${redis.urls().target}: queues holds a hash, not the set Sidekiq keeps there`);
    expect([await keyValueSnapshot(source, ''), await keyValueSnapshot(target, '')]).toEqual(before);
  });

  it('drain-check with `queues` a list names the key (exit 2), instead of an unnamed WRONGTYPE', async () => {
    const source = redis.source();
    await seed(source);
    await source.rpush('queues', 'old');

    const { code, stdout, stderr } = await cli('drain-check', '--redis', redis.urls().source);

    expect(code).toBe(2);
    expect(stderr).toContain('queues holds a list, not the set Sidekiq keeps there');
    expect(stdout).not.toContain('DRAINED');
  });
});

describe("drain-check over a Sidekiq sorted set held by another type", { timeout: 180_000 }, () => {
  it('`schedule` a string: exit 2 naming the key, instead of an unnamed WRONGTYPE', async () => {
    const source = redis.source();
    await source.rpush('queue:old', job('old', 1));
    await source.sadd('queues', 'old');
    await source.set('schedule', 'x');

    const { code, stdout, stderr } = await cli('drain-check', '--redis', redis.urls().source);

    expect(code).toBe(2);
    expect(stderr).toContain('schedule holds a string, not the sorted set Sidekiq keeps there');
    expect(stdout).not.toContain('DRAINED');
  });
});

// A `queue:NAME` key of another type than a list is no queue Sidekiq can push to or fetch from.
// Discovery set it aside ("not a list but a zset") and nobody said so: `run --rename old=new` over
// a `queue:old` sorted set, or `move` over any such key, ended "Complete: everything that could be
// moved was moved" with its content left behind. Refused now, before anything is touched, when the
// run would have drained that queue (a re-route: a queue its routing retires; a transfer: every one).
describe('a queue key of another type than a list', { timeout: 180_000 }, () => {
  it('run --rename old=new with queue:old a sorted set: exit 2 naming the key, nothing touched (dry run too)', async () => {
    const source = redis.source();
    await source.zadd('queue:old', '1', job('old', 1));
    await source.sadd('queues', 'old');
    await source.zadd('schedule', '1700000000', job('old', 3));
    const before = await keyValueSnapshot(source, '');

    for (const extra of [[], ['--dry-run']]) {
      const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', ...extra);

      expect(stderr).toContain('queue:old holds a zset, not a list');
      expect(stderr).toContain('the run stopped before its first page');
      expect(stdout).not.toContain('Complete');
      expect(code).toBe(2);
      expect(await keyValueSnapshot(source, '')).toEqual(before);
    }
  });

  it('run leaves such a key alone when its routing does not retire that queue: it runs and completes', async () => {
    const source = redis.source();
    await source.rpush('queue:old', job('old', 1));
    await source.sadd('queues', 'old', 'other');
    await source.hset('queue:other', 'a', 'b');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await source.lrange('queue:new', 0, -1)).toEqual([job('old', 1).replace('"queue":"old"', '"queue":"new"')]);
    expect(await source.hgetall('queue:other')).toEqual({ a: 'b' });
  });

  it('move with a source queue:zs sorted set: exit 2 naming the key, the source untouched, no job on the target', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await source.rpush('queue:q', job('q', 1));
    await source.zadd('queue:zs', '1', job('zs', 2));
    await source.sadd('queues', 'q', 'zs');
    const before = await keyValueSnapshot(source, '');

    const { code, stdout, stderr } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(stderr).toContain(`source ${redis.urls().source}: queue:zs holds a zset, not a list`);
    expect(stdout).not.toContain('Complete');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(source, '')).toEqual(before);
    // Refused before the target is named (its target-id) or any lock is taken: nothing there.
    expect(await keyValueSnapshot(target, '')).toEqual({});
  });
});

describe('drain-check over a queue key of another type than a list', { timeout: 180_000 }, () => {
  it('queue:zs a sorted set named in `queues`: exit 2 naming the key, instead of an unnamed WRONGTYPE (or DRAINED)', async () => {
    const source = redis.source();
    await source.zadd('queue:zs', '1', job('zs', 1));
    await source.sadd('queues', 'zs');

    const { code, stdout, stderr } = await cli('drain-check', '--redis', redis.urls().source);

    expect(stderr).toContain('queue:zs holds a zset, not a list');
    expect(stdout).not.toContain('DRAINED');
    expect(code).toBe(2);
  });
});
