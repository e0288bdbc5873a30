// The drain check reads how long each Sidekiq heartbeat has to live (PTTL: its second clock for a
// process gone silent, core/drain/live-processes.ts). A read-only user without PTTL passed the
// permission check at the start (PTTL was probed among the writes only) and the check then
// failed on the heartbeats, after reading half the keyspace. It is refused at the start now, the
// command named, exit 2, nothing touched; with PTTL the same user's check runs.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { aclUsersServer } from '../support/acl-users-server.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';

const READ_ONLY = ['~*', '&*', '+@read', '+info', '+ping', '+hello', '+auth', '+client', '+select', '+command'];
const acl = aclUsersServer({ nopttl: [...READ_ONLY, '-pttl'], reader: READ_ONLY });

const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

describe('a drain check by a user that may not run PTTL', { timeout: 60_000 }, () => {
  it('is refused before it reads anything, naming PTTL; exit 2, nothing touched', async () => {
    await acl.seed(['schedule']);
    await heartbeat(acl.admin, new SidekiqKeys(''), 'host-a:1:abc', ['default'], { beatAt: Date.now() / 1000, beating: false });
    const before = await keyValueSnapshot(acl.admin);

    const result = cli('drain-check', '--redis', acl.as('nopttl'));

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`Redis ${acl.shown('nopttl')}: the user nopttl may not run PTTL, which a drain check needs. Grant them (ACL SETUSER … +pttl) or use another user. Nothing was touched.\n`);
    expect(result.status).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });

  it('with PTTL granted, the same check runs and reads the process as live', async () => {
    await acl.seed(['schedule']);
    await heartbeat(acl.admin, new SidekiqKeys(''), 'host-a:1:abc', ['default'], { beatAt: Date.now() / 1000, beating: false });

    const result = cli('drain-check', '--redis', acl.as('reader'), '--json');

    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { processes: { live: number }; verdict: { state: string } };
    // The seeded jobs sit on a queue nobody listens to: stuck, exit 3; the process read as live.
    expect(report.processes).toEqual({ live: 1, quiet: 0, stale: 0 });
    expect(report.verdict.state).toBe('stuck');
    expect(result.status).toBe(3);
  });
});
