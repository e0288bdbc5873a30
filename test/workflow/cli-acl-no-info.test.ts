// A Redis user without INFO (an ACL of `+@all -@dangerous` takes it away), as the shipped CLI
// meets it: ioredis's ready check (INFO) failed first and ioredis printed its own warning on the
// console ("Skipping the ready check because INFO command fails: … You can disable ready check with
// "enableReadyCheck" …"), advice about a library option, before our message. The operator sees our
// message alone, exit 2, and nothing on the Redis changed. The ready check is off now; what it
// did (wait while the server loads its data) the connection does itself: checked below.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { aclUsersServer } from '../support/acl-users-server.js';
import { freeLoopbackPort } from '../support/redis-server.js';
import { waitUntil } from '../support/wait-until.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const acl = aclUsersServer({ blind: ['~*', '&*', '+@all', '-info'] });

const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

describe('a user that may not run INFO', { timeout: 60_000 }, () => {
  it.each([
    ['run', (blind: string) => ['run', '--redis', blind, '--rename', 'old=new'], 'source'],
    ['run --dry-run', (blind: string) => ['run', '--redis', blind, '--rename', 'old=new', '--dry-run'], 'source'],
    ['drain-check', (blind: string) => ['drain-check', '--redis', blind], 'Redis'],
    ['rollback', (blind: string) => ['rollback', 'run-1', '--redis', blind], 'source'],
    ['move (the target)', (blind: string, open: string) => ['move', '--from', open, '--to', `${blind}/1`], 'target'],
  ])('%s: our message alone on stderr (no ioredis warning), exit 2, nothing touched', async (_, args, role) => {
    const before = await acl.seed(['schedule']);
    const blind = acl.as('blind');

    const result = cli(...args(blind, acl.server.url));

    const shown = acl.shown('blind', role === 'target' ? 1 : 0);
    expect(result.stderr).toBe(
      `${role} ${shown}: the user lacks a permission we need (NOPERM this user has no permissions to run the 'info' command): grant it (ACL SETUSER blind +info; Sidekiq itself calls INFO too). Nothing was touched.\n`,
    );
    expect(result.stdout).toBe('');
    expect(result.status).toBe(2);
    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });
});

describe('a Redis still loading its data when the run connects', { timeout: 60_000 }, () => {
  it('run waits for the load (as ioredis\'s ready check did), then moves every job: no LOADING, no retry', async () => {
    // An RDB of 3,000 keys and the job, loaded at 1 ms a key (key-load-delay): about 3 s of LOADING.
    const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
    await acl.admin.flushall();
    await acl.admin.eval("for i = 1, 3000 do redis.call('SET', 'filler:' .. i, string.rep('x', 100)) end", 0);
    await acl.admin.rpush('queue:old', queued);
    await acl.admin.sadd('queues', 'old');
    await acl.admin.save();
    const dir = mkdtempSync(join(tmpdir(), 'cli-loading-'));
    copyFileSync(join(String(await acl.admin.config('GET', 'dir').then((r) => (r as string[])[1])), 'dump.rdb'), join(dir, 'dump.rdb'));
    await acl.admin.flushall();
    const port = await freeLoopbackPort();
    const loading = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--key-load-delay', '1000', '--loading-process-events-interval-bytes', '1024'], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => {}); // refused until the server listens: retried
    try {
      await waitUntil('the server answers, still loading', async () => /^loading:1/m.test(await probe.info('persistence').catch(() => '')));

      const result = cli('run', '--redis', `redis://127.0.0.1:${port}`, '--rename', 'old=new');

      expect(result.stderr).not.toMatch(/LOADING|loading|Transient|ready check/);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);
      await expectExactJobs(probe, '', [jobEntry('queue:new', withQueue(queued, 'old', 'new'))]);
    } finally {
      probe.disconnect();
      loading.kill('SIGTERM');
      await new Promise((resolve) => loading.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
