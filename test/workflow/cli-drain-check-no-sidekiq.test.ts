import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

// An operator's slip before retiring a Redis (redis-move runbook, step 8): the drain check given a
// wrong port, one where another, empty Redis listens. It said "DRAINED — 0 job(s) left", exit 0,
// as of an old Redis the move emptied: the go-ahead to retire it. A run there says "nothing was
// there to move (no Sidekiq data on …)"; the check now says it too, in its verdict line.
const redis = privateRedis();

describe('drain-check of a Redis with no Sidekiq data at all', { timeout: 60_000 }, () => {
  it('says so in its verdict line (human and --json), reading only', async () => {
    await redis.client().set('cache:some-page', 'x');
    const before = await keyValueSnapshot(redis.client());

    const check = await runCli('drain-check', '--redis', redis.url());
    const json = await runCli('drain-check', '--redis', redis.url(), '--json');

    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout.split('\n')[0]).toBe(
      `${redis.url()}: DRAINED — 0 job(s) left: no Sidekiq data at all there (no queue, set, process or statistic of Sidekiq's, under any prefix or in another database): check that this is the Redis you meant (host, port, /db)`,
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ remaining: 0, noSidekiqData: true, verdict: { state: 'drained' } });
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });

  it('says nothing of it where Sidekiq keys are (a drained Redis keeps its queues set and statistics)', async () => {
    await redis.client().sadd('queues', 'default');
    await redis.client().set('stat:processed', '12');

    const check = await runCli('drain-check', '--redis', redis.url());

    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout.split('\n')[0]).toBe(`${redis.url()}: DRAINED — 0 job(s) left`);
  });
});
