// A drain check reads at most 1,000 fetchers' private lists (FETCHER_LIST_LIMIT). Past them it
// stopped silently: its counts of jobs in private lists, and `remaining`, were said as exact when
// they are only a floor; and a check scoped to retired queues whose first 1,000 lists were all of
// other queues said DRAINED (exit 0) without having looked at the rest, where lists of the retired
// queues may be. Now the words say "at least", name the stop, and such a check is never drained.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });
const LISTS = 3_000;

/** LISTS private lists of gone GitLab reliable-fetch workers, one job each, all taken from `queue`. */
async function seed(queue: string): Promise<void> {
  const redis = server.client();
  await redis.sadd('queues', queue);
  const pipeline = redis.pipeline();
  for (let i = 0; i < LISTS; i++) pipeline.rpush(`working:queue:${queue}:host-${i}:${1000 + i}:0a1b2c3d4e5f`, sidekiqPayload({ className: 'A', queue, args: `[${i}]` }));
  await pipeline.exec();
}

describe('drain-check past 1,000 private lists', { timeout: 120_000 }, () => {
  it('says "at least" for the jobs in them and for what is left, and names the stop', async () => {
    await seed('old');

    const result = cli('drain-check', '--redis', server.url());

    const first = result.stdout.split('\n')[0]!;
    const header = /^redis:\/\/[^ ]+: STUCK — at least ([0-9,]+) job\(s\) left$/.exec(first);
    expect(header, result.stdout).not.toBeNull();
    const counted = Number(header![1]!.replaceAll(',', ''));
    expect(counted).toBeGreaterThanOrEqual(1_000);
    expect(counted).toBeLessThanOrEqual(LISTS);
    expect(result.stdout).toContain(`\n  - at least ${counted} job(s) sit in the private lists of workers that are gone (`);
    // One job a list: as many lists read as jobs counted.
    expect(result.stdout).toContain(
      `\n  - the check stopped at the first ${counted.toLocaleString('en-US')} workers' private lists it found (its limit: 1,000): there may be more, and more jobs in them than counted, so this is not a verdict of drained\n`,
    );
    expect(result.stdout).toContain(`\n  (the first ${counted.toLocaleString('en-US')} lists found were read; there may be more, and more jobs in them than counted here)\n`);
    expect(result.status).toBe(3);
  });

  it('scoped to retired queues whose lists it did not reach: not drained, exit code 1', async () => {
    await seed('kept');

    const result = cli('drain-check', '--redis', server.url(), '--retired-queues', 'retired');

    expect(result.stdout.split('\n')[0]).toMatch(/^redis:\/\/[^ ]+: DRAINING — 0 job\(s\) counted of the 1 retired queue\(s\) only \(jobs of other queues are not counted\); not all read: workers' private lists past the first [0-9,]+ \(see below\)$/);
    // As many lists as the SCAN page that reached 1,000 held: a page may hold more than its COUNT.
    const stop = /\n {2}- the check stopped at the first ([0-9,]+) workers' private lists it found \(its limit: 1,000\): there may be more, and more jobs in them than counted, so this is not a verdict of drained\n/.exec(result.stdout);
    expect(stop, result.stdout).not.toBeNull();
    expect(Number(stop![1]!.replaceAll(',', ''))).toBeGreaterThanOrEqual(1_000);
    expect(Number(stop![1]!.replaceAll(',', ''))).toBeLessThanOrEqual(LISTS);
    expect(result.stdout).not.toContain('DRAINED');
    expect(result.status).toBe(1);
  });
});
