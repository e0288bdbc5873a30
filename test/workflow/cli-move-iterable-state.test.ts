// Sidekiq 7.3+ iterable jobs (Sidekiq::IterableJob) keep their progress in a hash named after the
// jid, `it-<jid>` (fields ex, c, rt, and `cancelled` from 7.3.3; 30 days' TTL), on the Redis the
// job runs against (Sidekiq.redis), written while it iterates and when it is interrupted (then
// re-pushed with the same jid), deleted when it completes. A move does not carry it: the moved
// job restarts its iteration on the target. The plan (dry run included) names such states.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const cli = runCli;
const JIDS = ['aaaaaaaaaaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaaaaaaaaaa2', 'aaaaaaaaaaaaaaaaaaaaaaa3'];
// Sidekiq 7.3's shape: an interrupted iterable job is pushed again by its InterruptHandler, same jid.
const payload = (jid: string, queue = 'default') => `{"retry":true,"queue":"${queue}","args":[42],"class":"ProductsIterableJob","jid":"${jid}","created_at":1795459303.8459766,"enqueued_at":1795459309.1}`;

async function seed(): Promise<void> {
  const s = redis.source();
  await s.sadd('queues', 'default');
  await s.lpush('queue:default', payload(JIDS[0]!), payload('bbbbbbbbbbbbbbbbbbbbbbb0'));
  await s.zadd('retry', '1795459400', payload(JIDS[1]!));
  await s.zadd('schedule', '1795459500', payload(JIDS[2]!));
  for (const [i, jid] of JIDS.entries()) {
    await s.hset(`it-${jid}`, 'ex', String(i + 2), 'c', '1500', 'rt', '12.5');
    await s.expire(`it-${jid}`, 30 * 86_400);
  }
  // A cancelled one (Sidekiq::Client#cancel!, 7.3.3+): only the marker.
  await s.hset(`it-${JIDS[2]}`, 'cancelled', '1795459300');
}

const STATE_WORDS = 'iterable job state(s) (it-<jid>) on the source';

describe('Sidekiq 7.3+ iterable job state (it-<jid>) on a move', () => {
  it('the dry run and the move name the states they do not carry; the jobs still move once', async () => {
    await seed();

    const dry = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stderr.split('\n')).toContain(
      `warning: sidekiq: 3 ${STATE_WORDS} are not carried by a move: a job of such a jid that it moves (queued, scheduled, retrying or dead) restarts its iteration from the beginning on the target, every item processed again (a cancelled one runs). jids: ${JIDS.join(' · ')}. Let them finish on the old Redis first (docs/runbooks/redis-move.md, "Iterable jobs").`,
    );
    expect(await redis.target().dbsize()).toBe(0);

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain(`sidekiq: 3 ${STATE_WORDS} are not carried`);
    expect(moved.stderr).toContain('restarts its iteration from the beginning');

    // Jobs: exactly once, on the target.
    const t = redis.target();
    expect((await t.lrange('queue:default', 0, -1)).sort()).toEqual([payload(JIDS[0]!), payload('bbbbbbbbbbbbbbbbbbbbbbb0')].sort());
    expect(await t.zrange('retry', '0', '-1')).toEqual([payload(JIDS[1]!)]);
    expect(await t.zrange('schedule', '0', '-1')).toEqual([payload(JIDS[2]!)]);
    expect(await redis.source().llen('queue:default')).toBe(0);
    // The states: left on the source, as they were (the move says so, above); none on the target.
    for (const jid of JIDS) {
      expect(await redis.source().hget(`it-${jid}`, 'c')).toBe('1500');
      expect(await redis.source().ttl(`it-${jid}`)).toBeGreaterThan(29 * 86_400);
      expect(await t.exists(`it-${jid}`)).toBe(0);
    }
  });

  it('--json carries them in the summary object (iterableStates), dry run and move, as it carries deadSetOverCap: a script reading stdout alone sees them', async () => {
    await seed();

    const dry = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run', '--json');
    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect([dry.code, moved.code]).toEqual([0, 0]);
    expect(JSON.parse(dry.stdout).iterableStates).toEqual({ count: 3, jids: JIDS });
    expect(JSON.parse(moved.stdout).iterableStates).toEqual({ count: 3, jids: JIDS });
    expect(moved.stderr).toContain(`sidekiq: 3 ${STATE_WORDS} are not carried`);
    const again = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');
    expect(JSON.parse(again.stdout).iterableStates).toEqual({ count: 3, jids: JIDS });
  });

  it('says nothing of them when there are none', async () => {
    await redis.source().lpush('queue:default', payload('ccccccccccccccccccccccc1'));
    await redis.source().sadd('queues', 'default');
    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(moved.code).toBe(0);
    expect(moved.stderr).not.toContain('it-<jid>');
    const json = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');
    expect(JSON.parse(json.stdout)).not.toHaveProperty('iterableStates');
  });

  it('under a namespace, its it- keys are the ones looked at', async () => {
    await redis.source().sadd('resque:gitlab:queues', 'default');
    await redis.source().lpush('resque:gitlab:queue:default', payload(JIDS[0]!));
    await redis.source().hset(`resque:gitlab:it-${JIDS[0]}`, 'ex', '1', 'c', '7', 'rt', '1.0');
    await redis.source().hset(`it-${JIDS[1]}`, 'ex', '1', 'c', '7', 'rt', '1.0');
    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--namespace', 'resque:gitlab');
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain(`sidekiq: 1 ${STATE_WORDS} are not carried`);
    expect(moved.stderr).toContain(JIDS[0]);
    expect(moved.stderr).not.toContain(JIDS[1]);
  });
});
