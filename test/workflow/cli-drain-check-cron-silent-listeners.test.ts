// drain-check's sidekiq-cron lines counted a Sidekiq process not heard from for more than 3 beats
// (it may have been killed: its heartbeat hash lives 60 s after its last beat) as one listening to
// a definition's queue: "(1 listening)" where, if it was killed, nobody fetches what cron pushes.
// The lines now say such processes apart, and --json adds silentListeners (of `listeners`). The
// heartbeat is written as a killed Sidekiq 6.4 process leaves it 40 s after its last beat.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });
const SILENT = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const keys = new SidekiqKeys('');

describe('drain-check, a sidekiq-cron definition whose queue a Sidekiq process not heard from listens to', { timeout: 60_000 }, () => {
  it('says the silent listener apart from those that beat, in words and --json', async () => {
    const c = redis.client();
    const cron = JSON.parse(readFileSync(repoPath('test/fixtures/sidekiq-cron/definitions.json'), 'utf8'))['1.x'];
    await c.sadd(cron.index, cron.key);
    await c.hset(cron.key, cron.fields);
    await heartbeat(c, keys, 'web:1:aaaaaaaaaaaa', ['other'], { beatAt: Date.now() / 1000 });
    await heartbeat(c, keys, SILENT, ['cronjob:stuck_ci_jobs'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await c.pexpire(SILENT, 20_000);
    // A job left, so that the check does not wait for the heartbeats (nothing left: confirm-drained.ts).
    await c.sadd('queues', 'other');
    await c.rpush('queue:other', sidekiqPayload({ className: 'A', queue: 'other', args: '[1]', jid: '1'.padStart(24, '0') }));

    const human = cli('drain-check', '--redis', redis.url());
    expect(human.stdout).toContain('  stuck_ci_jobs_worker → cronjob:stuck_ci_jobs (listened to only by 1 Sidekiq process(es) not heard from for more than 3 beats: they may have been killed)\n');
    const json = JSON.parse(cli('drain-check', '--redis', redis.url(), '--json').stdout) as { cron: { listeners: number; silentListeners?: number }[] };
    expect(json.cron).toMatchObject([{ listeners: 1, silentListeners: 1 }]);

    // One that beats listens too.
    await heartbeat(c, keys, 'web:2:bbbbbbbbbbbb', ['cronjob:stuck_ci_jobs'], { beatAt: Date.now() / 1000 });
    const both = cli('drain-check', '--redis', redis.url());
    expect(both.stdout).toContain('  stuck_ci_jobs_worker → cronjob:stuck_ci_jobs (1 listening, and 1 not heard from for more than 3 beats)\n');
    const jsonBoth = JSON.parse(cli('drain-check', '--redis', redis.url(), '--json').stdout) as { cron: { listeners: number; silentListeners?: number }[] };
    expect(jsonBoth.cron).toMatchObject([{ listeners: 2, silentListeners: 1 }]);
  });
});
