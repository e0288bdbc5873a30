// A drain check scoped to retired queues (--retired-queues) that finds them drained names, beside
// its DRAINED, the jobs of the whole Redis that will never run (orphans outside the retired queues:
// "give their queues a listener"). Jobs and schedule or retry entries on live queues that only
// Sidekiq processes not heard from for more than 3 beats listen to (they may have been killed) were
// said by the unscoped check (heardOnlyBySilent, setEntriesHeardOnlyBySilent) but by no word of
// the scoped one: "DRAINED" and nothing else, where, if those processes were killed, nobody fetches
// them. The verdict is kept (drained: the retired queues are empty; a hung process may beat again),
// and so is the exit code; the words now say them, as the unscoped check does. The heartbeat is
// written as a killed Sidekiq 6.4 process leaves it 40 s after its last beat (expiry 20 s away).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });
const SILENT = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';

describe('drain-check --retired-queues, drained, with jobs on live queues only Sidekiq processes not heard from listen to', { timeout: 60_000 }, () => {
  it('says them beside DRAINED (exit 0), as the unscoped check does', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old', 'default');
    await c.rpush('queue:default', ...[1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: `${i}`.padStart(24, '0') })));
    await c.zadd('schedule', Date.now() / 1000 + 3600, sidekiqPayload({ className: 'A', queue: 'default', args: '[3]', jid: '3'.padStart(24, '0') }));
    await heartbeat(c, new SidekiqKeys(''), 'web:1:aaaaaaaaaaaa', ['other'], { beatAt: Date.now() / 1000 });
    await heartbeat(c, new SidekiqKeys(''), SILENT, ['default'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await c.pexpire(SILENT, 20_000);

    const human = cli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');
    expect(human.status, `${human.stdout}${human.stderr}`).toBe(0);
    expect(human.stdout).toMatch(/^redis:\/\/\S+: DRAINED — 0 job\(s\) left of the 1 retired queue\(s\) only/);
    expect(human.stdout).toMatch(
      /\n {2}- 2 job\(s\) wait on queues listened to only by Sidekiq processes not heard from for (4\d|5\d) s \(they may have been killed\) \(default 2\): if those were killed, nobody fetches them; see docs\/runbooks\/redis-move\.md, step 6\.1\n/,
    );
    expect(human.stdout).toMatch(
      /\n {2}- 1 schedule or retry entries name queues listened to only by Sidekiq processes not heard from for (4\d|5\d) s \(they may have been killed\) \(default 1\): if those were killed, nobody fetches them once due; see docs\/runbooks\/redis-move\.md, step 6\.1\n/,
    );
  });
});
