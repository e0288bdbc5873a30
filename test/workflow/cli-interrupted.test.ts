// GitLab's reliable fetcher keeps jobs interrupted too often in the sorted set `interrupted`, with
// their old queue: a re-route rewrites them, a transfer carries them, drain-check counts them.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const cli = runCli;
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();
// As gitlab-sidekiq-fetcher writes it: the payload gains interrupted_count; the score is when.
const payloads = Array.from({ length: 10 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, extra: '"interrupted_count":3' }));
const interrupted = (i: number) => payloads[i]!;

describe('the interrupted set (GitLab reliable fetcher)', () => {
  it('is re-routed by default when it exists, counted by drain-check, and carried by a move', async () => {
    for (let i = 0; i < 3; i++) await redis.source().zadd('interrupted', String(1795459303.5 + i), interrupted(i));

    const rerouted = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--json');

    expect(rerouted.code).toBe(0);
    expect(JSON.parse(rerouted.stdout).sets.interrupted).toMatchObject({ scanned: 3, moved: 3 });
    const expected = [0, 1, 2].map((i) => ({ key: 'interrupted', score: String(1795459303.5 + i), payload: interrupted(i).replace('"queue":"old"', '"queue":"new"') }));
    expect(sorted(await allJobs(redis.source(), 'interrupted'))).toEqual(sorted(expected));

    const check = await cli('drain-check', '--redis', redis.urls().source);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^interrupted +3 total/m);
    expect(check.stdout).toContain("3 interrupted job(s) remain (GitLab's reliable fetcher set them aside; they never run unless retried)");

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(moved.code).toBe(0);
    expect(sorted(await allJobs(redis.target(), 'interrupted'))).toEqual(sorted(expected));
    expect(await redis.source().exists('interrupted')).toBe(0);
  });

  it('is not listed when it does not exist, and --sets interrupted selects it alone', async () => {
    const none = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--json');
    expect(Object.keys(JSON.parse(none.stdout).sets).sort()).toEqual(['dead', 'retry', 'schedule']);

    await redis.source().zadd('interrupted', '1795459303.5', interrupted(7));
    await redis.source().zadd('retry', '1795459303.5', interrupted(8));
    const alone = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--sets', 'interrupted', '--no-queues', '--json');

    expect(Object.keys(JSON.parse(alone.stdout).sets)).toEqual(['interrupted']);
    expect(await redis.source().zrange('retry', '0', '-1')).toEqual([interrupted(8)]);
  });
});
