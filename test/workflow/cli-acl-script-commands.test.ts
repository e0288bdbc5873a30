import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { aclUsersServer } from '../support/acl-users-server.js';
import { runCli } from '../support/run-cli.js';

// Before anything is touched a run checks that its user may run every command it sends
// (command-permissions.ts), its Lua steps' included. Four were missing from that list: HDEL and
// HLEN (endRunExecution-3.lua, at the end of every run, on the source), SCARD and SRANDMEMBER
// (retireLedger-4.lua, at the end of a transfer, on the target; SCARD on the source too). A user
// without one of them had every job moved, then "Unexpected ReplyError in summarize … can't run
// this command", exit 1, and the same again on every run after. Refused at the start now.
const users = ['nohdel', 'nohlen', 'nosrandmember', 'noscard'];
const acl = aclUsersServer(Object.fromEntries(users.map((u) => [u, ['~*', '&*', '+@all', `-${u.slice(2)}`]])));
const { as, shown } = acl;
const seed = () => acl.seed(['schedule']);

describe("a user without a command only a run's Lua steps send", { timeout: 180_000 }, () => {
  it.each([
    ['HDEL', 'nohdel'],
    ['HLEN', 'nohlen'],
  ])('run, without %s: exit 2 naming it, nothing touched', async (command, user) => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('run', '--redis', as(user), '--rename', 'old=new');

    expect(stderr).toBe(`source ${shown(user)}: the user ${user} may not run ${command}, which a migration needs. Grant them (ACL SETUSER … +${command.toLowerCase()}) or use another user. Nothing was touched.\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });

  it.each([
    ['SRANDMEMBER', 'nosrandmember'],
    ['SCARD', 'noscard'],
  ])("move, the target's user without %s: exit 2 naming it, nothing touched", async (command, user) => {
    const before = await seed();

    const { code, stdout, stderr } = await runCli('move', '--from', acl.server.url, '--to', as(user, 1));

    expect(stderr).toBe(`target ${shown(user, 1)}: the user ${user} may not run ${command}, which a transfer target needs. Grant them (ACL SETUSER … +${command.toLowerCase()}) or use another user. Nothing was touched.\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });
});
