import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { recordStartedWith, startedWith } from '../../core/workflow/started-with.js';
import { ensureTargetId } from '../../core/transfer/target-identity.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The plan walks the source's keyspace once, before it takes the run's locks (plan-walk.ts).
// Until it holds them, an execution of the same run that this start supersedes (`start
// --resume`, a redriven execution) may still claim jobs into the run's in-flight keys, after the
// walk went past them; the claim of a queue's last jobs deletes the queue's list. Here that claim
// lands just after the walk's last SCAN page: the plan still finishes it (it reads the run's own
// in-flight keys by name once it holds the locks), and the job is on the target, none left in flight.
const redis = privateSourceAndTarget();
const job = sidekiqPayload({ className: 'A', queue: 'gone', jid: 'j-claimed' });
const inflight = 'sidekiq-migrate:run-1:inflight:queue:gone';

/** The source, whose walk's last SCAN page is followed by the superseded execution's claim. */
function claimAfterTheWalk(inner: UrlConnections): ConnectionProvider {
  let claimed = false;
  return {
    get: async (name) => {
      const connection = await inner.get(name);
      if (name !== 'source') return connection;
      const redis = new Proxy(connection.redis, {
        get(target, prop, receiver) {
          if (prop !== 'scanBuffer') return Reflect.get(target, prop, receiver) as unknown;
          return async (...args: Parameters<Redis['scanBuffer']>) => {
            const page = await target.scanBuffer(...args);
            if (page[0].toString() === '0' && !claimed) {
              claimed = true;
              await target.rpush(inflight, job);
            }
            return page;
          };
        },
      });
      return { ...connection, redis };
    },
  };
}

describe('jobs the run claimed while its plan walked the keyspace', { timeout: 60_000 }, () => {
  it('are finished by the plan: on the target, none left in flight', async () => {
    await redis.source().sadd('queues', 'gone', 'default');
    await redis.source().rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', jid: 'j-default' }));
    // The superseded execution's list names the queue whose last job it claims.
    await redis.source().rpush('sidekiq-migrate:run-1:items', JSON.stringify({ kind: 'queue', name: 'default' }), JSON.stringify({ kind: 'queue', name: 'gone' }));
    // Its first plan named the target and recorded what the run was started with (started-with.ts).
    const targetId = await ensureTargetId(redis.target(), new SidekiqKeys(''));
    await recordStartedWith(redis.source(), '', 'run-1', startedWith('transfer', undefined, undefined, targetId));
    const urls = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const plan = await planStep({ runId: 'run-1', mode: 'transfer', target: 'target' }, claimAfterTheWalk(urls)).finally(() => urls.close());

    expect(plan.resumed.resumed).toBe(1);
    expect(await redis.target().lrange('queue:gone', 0, -1)).toEqual([job]);
    expect(await redis.source().exists(inflight)).toBe(0);
  });
});
