// drain-check's orphan rule for schedule and retry entries (those naming a queue nobody listens
// to) counted a Sidekiq process not heard from for more than 3 beats (it may have been killed: its
// heartbeat hash lives 60 s after its last beat) as a listener, so entries naming a queue only
// such processes listen to were neither orphans nor said anywhere. The verdict is kept (a hung
// process may beat again), as for queues (cli-drain-check-heard-only-by-silent), but the check now
// says them apart, in words and in --json (setEntriesHeardOnlyBySilent). The heartbeat is written
// as a killed Sidekiq 6.4 process leaves it 40 s after its last beat (expiry 20 s away); another
// process beats on `other`.
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

describe('drain-check, schedule and retry entries naming a queue only Sidekiq processes not heard from listen to', { timeout: 60_000 }, () => {
  it('says them apart, keeps the verdict (DRAINING, exit 0, no orphans), and --json counts them', async () => {
    const c = redis.client();
    const inAnHour = Date.now() / 1000 + 3600;
    await c.zadd('schedule', inAnHour, sidekiqPayload({ className: 'A', queue: 'default', args: '[1]', jid: '1'.padStart(24, '0') }));
    await c.zadd('retry', inAnHour, sidekiqPayload({ className: 'A', queue: 'default', args: '[2]', jid: '2'.padStart(24, '0') }));
    await c.zadd('retry', inAnHour, sidekiqPayload({ className: 'B', queue: 'other', args: '[3]', jid: '3'.padStart(24, '0') }));
    await heartbeat(c, new SidekiqKeys(''), 'web:1:aaaaaaaaaaaa', ['other'], { beatAt: Date.now() / 1000 });
    await heartbeat(c, new SidekiqKeys(''), SILENT, ['default'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await c.pexpire(SILENT, 20_000);

    const human = cli('drain-check', '--redis', redis.url());
    const json = cli('drain-check', '--redis', redis.url(), '--json');
    expect(human.status, `${human.stdout}${human.stderr}`).toBe(0);
    expect(human.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 3 job\(s\) left\n/);
    expect(human.stdout).toMatch(
      /\n {2}- 2 schedule or retry entries name queues listened to only by Sidekiq processes not heard from for (4\d|5\d) s \(they may have been killed\) \(default 2\): if those were killed, nobody fetches them once due; see docs\/runbooks\/redis-move\.md, step 6\.1\n/,
    );
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { verdict: { state: string }; orphans: { total: number }; setEntriesHeardOnlyBySilent?: { entries: number; total: number; queues: unknown; silentSeconds: number } };
    expect(report.verdict.state).toBe('draining');
    expect(report.orphans.total).toBe(0);
    expect(report.setEntriesHeardOnlyBySilent).toMatchObject({ entries: 2, total: 1, queues: [{ queue: 'default', entries: 2 }] });
    expect(report.setEntriesHeardOnlyBySilent!.silentSeconds).toBeGreaterThanOrEqual(40);
  });
});
