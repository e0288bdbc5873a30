// A Sidekiq host whose clock is behind the check's by more than a minute stamps `beat` more than
// 60 s in the past at every beat, while Redis renews its hash's 60 s expiry each time (Redis's own
// clock: the process is alive). The census took `beat` alone for liveness: the process was not
// live, the job its basic fetch ran (in no list, only in its heartbeat) was counted nowhere, and
// the check said DRAINED over it, exit 0 (audit-drain).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

const IDENTITY = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const runs = sidekiqPayload({ className: 'A', queue: 'default', jid: '000000000000000000000003' });

describe('drain-check: a live process whose host clock is behind', () => {
  it('counts the job it runs in no list, and never says DRAINED over it', async () => {
    const c = redis.client();
    // Its host's clock 120 s behind: `beat` 120 s old as it beats; its hash renewed just now (60 s to live).
    const beat = Date.now() / 1000 - 120;
    const info = JSON.stringify({ hostname: 'gitlab-sidekiq-1', started_at: beat - 100, pid: 4242, tag: '', concurrency: 1, queues: ['default'], labels: [], identity: IDENTITY });
    await c.sadd('queues', 'default');
    await c.sadd('processes', IDENTITY);
    await c.hset(IDENTITY, 'info', info, 'beat', String(beat), 'quiet', 'false', 'busy', '1');
    await c.expire(IDENTITY, 60);
    await c.hset(`${IDENTITY}:workers`, 'tid1', JSON.stringify({ queue: 'default', payload: runs, run_at: Math.floor(beat) - 1 }));
    await c.expire(`${IDENTITY}:workers`, 60);

    const human = cli('drain-check', '--redis', redis.url());

    const out = `${human.stdout}${human.stderr}`;
    expect(out).not.toContain('DRAINED');
    expect(out).toContain(': DRAINING — 1 job(s) left\n');
    expect(out).toContain(`1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${IDENTITY} 1)`);
  });
});
