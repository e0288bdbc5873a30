// When the drain check finds nothing left but live Sidekiq processes run, it waits for each to beat
// twice before it says DRAINED (confirm-drained.ts). A killed process's heartbeat hash lives 60 s
// after its last beat, and it never beats: the check waited its whole bound (30 s) for it, then
// said it "had not beaten twice in the 30 s it waited", not that it had been silent for 40 s and
// may have been killed, nor when its heartbeat expires. It is now not waited for: named as the
// other drain-check words name a silent process, with when its heartbeat expires, and never
// DRAINED; exit 1 (not sure), as for a process that does not beat in time. The heartbeat is
// written as a killed Sidekiq 6.4 process leaves it 40 s after its last beat (expiry 20 s away).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';

const redis = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

const SILENT = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const WAITING = /waiting up to \d+ s for the \d+ live Sidekiq process\(es\)/;

/** A Sidekiq 6.4 process's heartbeat `silentFor` seconds after its last beat, running nothing: `beat` that old, the hash expiring 60 s after it. */
async function sidekiqProcess(identity: string, silentFor: number): Promise<void> {
  const c = redis.client();
  const beat = Date.now() / 1000 - silentFor;
  const info = JSON.stringify({ hostname: identity.split(':')[0], started_at: beat - 100, pid: Number(identity.split(':')[1]), tag: '', concurrency: 1, queues: ['default'], labels: [], identity });
  await c.sadd('processes', identity);
  await c.hset(identity, 'info', info, 'beat', String(beat), 'quiet', 'false', 'busy', '0');
  await c.pexpire(identity, Math.round((60 - silentFor) * 1000));
}

describe('drain-check, nothing left, and a live Sidekiq process not heard from for several beats', { timeout: 60_000 }, () => {
  it('names it and when its heartbeat expires, does not wait for its beats, and is not sure: DRAINING, exit 1', async () => {
    const from = Date.now();
    await redis.client().sadd('queues', 'default');
    await sidekiqProcess(SILENT, 40);

    const human = cli('drain-check', '--redis', redis.url());
    const json = cli('drain-check', '--redis', redis.url(), '--json');
    const passed = (Date.now() - from) / 1000;

    expect(human.status, `${human.stdout}${human.stderr}`).toBe(1);
    expect(human.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 0 job\(s\) left\n/);
    expect(human.stdout).not.toContain('DRAINED');
    expect(human.stderr).not.toMatch(WAITING);
    const line = new RegExp(
      `^ {2}- not yet sure: the check found nothing left, but Sidekiq process ${SILENT} not heard from for (\\d+) s \\(a live Sidekiq process beats every 5 s\\): it may have been killed; its heartbeat expires within (\\d+) s, after which the check can confirm\\. If it still runs, a job it fetched less than a beat before is in no list and shows only in its next heartbeat, so this is not a verdict of drained; check again then$`,
      'm',
    ).exec(human.stdout);
    expect(line, human.stdout).not.toBeNull();
    const [said, expires] = [Number(line![1]), Number(line![2])];
    expect(said).toBeGreaterThanOrEqual(40);
    expect(said).toBeLessThanOrEqual(40 + Math.ceil(passed));
    expect(expires).toBeLessThanOrEqual(20);
    expect(expires).toBeGreaterThanOrEqual(20 - Math.ceil(passed));

    expect(json.status, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as { verdict: { state: string }; remaining: number; beatWait: { processes: number; waitedSeconds: number; unconfirmed: Record<string, unknown> } };
    expect(report.verdict.state).toBe('draining');
    expect(report.remaining).toBe(0);
    expect(report.beatWait.processes).toBe(1);
    expect(report.beatWait.unconfirmed).toMatchObject({ late: [], stopped: [], appeared: [], count: 1 });
    const silent = report.beatWait.unconfirmed.silent as { identity: string; silentSeconds: number; beatEverySeconds: number; heartbeatExpiresInSeconds: number }[];
    expect(silent.map((s) => [s.identity, s.beatEverySeconds])).toEqual([[SILENT, 5]]);
    expect(silent[0]!.silentSeconds).toBeGreaterThanOrEqual(40);
    expect(silent[0]!.heartbeatExpiresInSeconds).toBeLessThanOrEqual(20);
  });
});
