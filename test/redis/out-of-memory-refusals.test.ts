import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCommandError } from '../../core/redis/redis-errors.js';
import { TaskErrorNames, toTaskError } from '../../functions/support/task-error.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

// A Redis with noeviction at its maxmemory refuses every write that may grow it. Seen with the
// CLI: a re-route whose lock was taken just below the limit stopped at the plan step's MULTI with
// "Unexpected ReplyError in plan: EXECABORT Transaction discarded because of previous errors", no
// word of memory. The refusals must say what to do, as the Lua steps' do.
let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer(['--maxmemory-policy', 'noeviction']);
  redis = new Redis(server.url, { protocol: 2 });
  await redis.set('already-there', 'x');
  await redis.config('SET', 'maxmemory', '1'); // over it from now on
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const OUT_OF_MEMORY = 'plan: Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.';

describe('a full Redis (noeviction, at maxmemory) refusing a step', () => {
  it('a MULTI it aborted (EXECABORT) says out of memory, not "Unexpected", and wrote nothing', async () => {
    const failure = await redis.multi().del('sidekiq-migrate:run-1:executions').hset('sidekiq-migrate:run-1:executions', 'root', '1').exec().then(
      () => null,
      (error: unknown) => error,
    );

    expect(String((failure as Error)?.message)).toMatch(/^EXECABORT/);
    const mapped = toTaskError(failure, 'plan');
    expect(mapped).toMatchObject({ name: TaskErrorNames.fatal, message: OUT_OF_MEMORY });
    expect(mapped.cause).toBeInstanceOf(RedisCommandError);
    expect(await redis.keys('*')).toEqual(['already-there']);
  });

  it('a plain write it refused (OOM) says the same', async () => {
    const failure = await redis.set('sidekiq-migrate:x', 'y').then(
      () => null,
      (error: unknown) => error,
    );

    expect(toTaskError(failure, 'plan')).toMatchObject({ name: TaskErrorNames.fatal, message: OUT_OF_MEMORY });
  });
});
