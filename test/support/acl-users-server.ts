import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { keyValueSnapshot } from './exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/** Every key family a run writes, as ACL key patterns: leave one out to take it from a user. */
export const SIDEKIQ_KEY_PATTERNS = ['~queue:*', '~queues', '~schedule', '~retry', '~dead', '~interrupted', '~sidekiq-migrate:*', '~cron_job*'] as const;

/** The patterns of `SIDEKIQ_KEY_PATTERNS` but the family `family` (e.g. `dead`). */
export const keyPatternsWithout = (family: string): string[] => SIDEKIQ_KEY_PATTERNS.filter((p) => p !== `~${family}`);

/** What a test file works with; each is there from its `beforeAll` on. */
export interface AclUsersServer {
  readonly server: RedisServerHandle;
  /** The default user's client (every key and command), to seed and to check. */
  readonly admin: Redis;
  /** The server's URL as `user` (password `pw`), in database `db` when not 0. */
  readonly as: (user: string, db?: number) => string;
  /** `as(user, db)` as the CLI shows it, the password masked. */
  readonly shown: (user: string, db?: number) => string;
  /**
   * Empties the server, then writes queue:old (one job, named in `queues`) and one job in each
   * of `sets` (schedule: args [2], dead: args [3]); returns the snapshot to compare with after.
   */
  readonly seed: (sets: readonly ('schedule' | 'dead')[]) => Promise<Awaited<ReturnType<typeof keyValueSnapshot>>>;
}

/**
 * A redis-server of the test file's own whose default user may do anything and whose other users
 * (password `pw`) have the ACL rules given after `on >pw` (key patterns, channels, commands, in
 * redis-server's `--user` words), started before the file's tests and stopped after them. Call it
 * at the top of the file; it registers the hooks.
 */
export function aclUsersServer(users: Readonly<Record<string, readonly string[]>>): AclUsersServer {
  let server: RedisServerHandle | undefined;
  let admin: Redis | undefined;
  beforeAll(async () => {
    const acl = Object.entries(users).flatMap(([user, rules]) => ['--user', user, 'on', '>pw', ...rules]);
    server = await startRedisServer(['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', ...acl]);
    admin = new Redis(server.url, { protocol: 2 });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('aclUsersServer: the server starts in beforeAll');
    return value;
  };
  const as = (user: string, db = 0) => `${started(server).url.replace('redis://', `redis://${user}:pw@`)}${db > 0 ? `/${db}` : ''}`;
  return {
    get server() {
      return started(server);
    },
    get admin() {
      return started(admin);
    },
    as,
    shown: (user, db = 0) => as(user, db).replace(':pw@', ':***@'),
    seed: async (sets) => {
      const redis = started(admin);
      await redis.flushall();
      await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
      await redis.sadd('queues', 'old');
      if (sets.includes('schedule')) await redis.zadd('schedule', '1795459303', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
      if (sets.includes('dead')) await redis.zadd('dead', '1795459303', sidekiqPayload({ className: 'A', queue: 'old', args: '[3]' }));
      return keyValueSnapshot(redis);
    },
  };
}
