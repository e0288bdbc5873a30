import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// An ACL key pattern can leave out one key family a run writes while allowing the commands and
// the others: Redis 7's read-only `%R~` on it, or a list of patterns without it. Each Lua step
// declares its keys, so Redis refuses it whole (nothing of it ran), but the run went on with the
// other families: before, `run` re-routed queue:old and schedule, then failed on dead ("FatalError:
// … NOPERM", exit 1, a half-done run), and `move` claimed queue:old into flight on the source and
// failed on the target's `queues`. The up-front check probed queue:*, retry and sidekiq-migrate:*
// only. Now each family a run reads or writes is probed (command-permissions.ts): refused at the
// start, naming the family and the user, exit 2, nothing touched.
let server: RedisServerHandle;
let admin: Redis;
const writable = ['~queue:*', '~queues', '~schedule', '~retry', '~dead', '~interrupted', '~sidekiq-migrate:*', '~cron_job*'];
const without = (family: string) => writable.filter((p) => p !== `~${family}`);
const users: Record<string, string[]> = {
  noqueues: ['%R~*', ...without('queues')],
  nodead: ['%R~*', ...without('dead')],
  // A pattern list without the family at all (not even read).
  noschedule: ['~processes', '~permission-check', ...without('schedule')],
  // Redis 7 selectors: one that writes every family but dead, another that may only read dead.
  selectors: ['%R~*', ...without('dead'), '(%R~dead +@all)'],
};
beforeAll(async () => {
  const acl = Object.entries(users).flatMap(([user, keys]) => ['--user', user, 'on', '>pw', ...keys, '&*', '+@all']);
  server = await startRedisServer(['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', ...acl]);
  admin = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

const as = (user: string, db = 0) => `${server.url.replace('redis://', `redis://${user}:pw@`)}${db > 0 ? `/${db}` : ''}`;
const shown = (user: string, db = 0) => as(user, db).replace(':pw@', ':***@');

async function seed(): Promise<Awaited<ReturnType<typeof keyValueSnapshot>>> {
  await admin.flushall();
  await admin.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
  await admin.sadd('queues', 'old');
  await admin.zadd('schedule', '1795459303', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
  await admin.zadd('dead', '1795459303', sidekiqPayload({ className: 'A', queue: 'old', args: '[3]' }));
  return keyValueSnapshot(admin);
}

const writeRefusal = (where: string, user: string, family: string, what: string) =>
  `${where}: the user ${user} may not write ${family}, which ${what} writes (its step there would be refused after others had changed data). Grant them (ACL SETUSER ${user} ~${family}) or use another user. Nothing was touched.\n`;

describe('a user whose ACL key patterns leave out a key family a run writes', { timeout: 180_000 }, () => {
  it.each([
    ['queues', 'noqueues'],
    ['dead', 'nodead'],
    ['dead', 'selectors'],
  ])('run, %s read-only: exit 2 naming it and the user, nothing touched', async (family, user) => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('run', '--redis', as(user), '--rename', 'old=new');

    expect(stderr).toBe(writeRefusal(`source ${shown(user)}`, user, family, 'a migration'));
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(admin)).toEqual(before);
  });

  it('run, schedule not even readable: exit 2 naming it, nothing touched', async () => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('run', '--redis', as('noschedule'), '--rename', 'old=new');

    expect(stderr).toBe(
      `source ${shown('noschedule')}: the user noschedule may not read schedule, which a migration reads (its step there would be refused after others had changed data). Grant them (ACL SETUSER noschedule ~schedule) or use another user. Nothing was touched.\n`,
    );
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(admin)).toEqual(before);
  });

  it("move, the target's user without write on queues: exit 2, nothing claimed on the source", async () => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('move', '--from', server.url, '--to', as('noqueues', 1));

    expect(stderr).toBe(writeRefusal(`target ${shown('noqueues', 1)}`, 'noqueues', 'queues', 'a transfer target'));
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(admin)).toEqual(before);
  });
});
