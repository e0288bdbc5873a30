import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { aclUsersServer, keyPatternsWithout } from '../support/acl-users-server.js';
import { runCli } from '../support/run-cli.js';

// An ACL key pattern can leave out one key family a run writes while allowing the commands and
// the others: Redis 7's read-only `%R~` on it, or a list of patterns without it. Each Lua step
// declares its keys, so Redis refuses it whole (nothing of it ran), but the run went on with the
// other families: before, `run` re-routed queue:old and schedule, then failed on dead ("FatalError:
// … NOPERM", exit 1, a half-done run), and `move` claimed queue:old into flight on the source and
// failed on the target's `queues`. The up-front check probed queue:*, retry and sidekiq-migrate:*
// only. Now each family a run reads or writes is probed (command-permissions.ts): refused at the
// start, naming the family and the user, exit 2, nothing touched.
const users: Record<string, string[]> = {
  noqueues: ['%R~*', ...keyPatternsWithout('queues')],
  nodead: ['%R~*', ...keyPatternsWithout('dead')],
  // A pattern list without the family at all (not even read).
  noschedule: ['~processes', '~permission-check', ...keyPatternsWithout('schedule')],
  // Redis 7 selectors: one that writes every family but dead, another that may only read dead.
  selectors: ['%R~*', ...keyPatternsWithout('dead'), '(%R~dead +@all)'],
};
const acl = aclUsersServer(Object.fromEntries(Object.entries(users).map(([user, keys]) => [user, [...keys, '&*', '+@all']])));
const { as, shown } = acl;
const seed = () => acl.seed(['schedule', 'dead']);

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
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });

  it('run, schedule not even readable: exit 2 naming it, nothing touched', async () => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('run', '--redis', as('noschedule'), '--rename', 'old=new');

    expect(stderr).toBe(
      `source ${shown('noschedule')}: the user noschedule may not read schedule, which a migration reads (its step there would be refused after others had changed data). Grant them (ACL SETUSER noschedule ~schedule) or use another user. Nothing was touched.\n`,
    );
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });

  it("move, the target's user without write on queues: exit 2, nothing claimed on the source", async () => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('move', '--from', acl.server.url, '--to', as('noqueues', 1));

    expect(stderr).toBe(writeRefusal(`target ${shown('noqueues', 1)}`, 'noqueues', 'queues', 'a transfer target'));
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });
});
