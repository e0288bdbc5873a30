// Large payloads at the CLI (GitLab's size limiter lets jobs of MBs through unless told to reject
// them): `drain-check`, `drain-check --classes` and `move --classes` read jobs in reads of about
// MAX_PAGE_BYTES, 1 MiB (core/redis/page-bytes.ts), never a page of 1,000 (or 8 of them) of jobs of 1 MiB each,
// and their counts and moves stay exact. MONITOR shows how many jobs each read asked for.
import { describe, expect, it } from 'vitest';
import { jobDigestEntry, jobDigestsIn } from '../support/exact-jobs.js';
import { monitorJobReads, type AskedRead } from '../support/job-reads.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { MAX_PAGE_BYTES } from '../../core/redis/page-bytes.js';

const redis = privateSourceAndTarget();
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number, className: string) => sidekiqPayload({ className, queue: 'default', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]` });
/** Reads of the keys that hold the jobs (not our bookkeeping, nor the work list; retry and dead are empty). */
const JOB_KEYS = new Set(['queue:default', 'schedule']);

const cli = runCli;

/** The CLI run under MONITOR: its result, and the reads of jobs it asked the source for. */
async function watched(...args: string[]): Promise<{ code: number; stdout: string; reads: AskedRead[] }> {
  const watch = await monitorJobReads(redis.urls().source);
  const result = await cli(...args);
  const reads = (await watch.stop()).filter((r) => JOB_KEYS.has(r.key));
  return { ...result, reads };
}

/**
 * 30 jobs on queue:default (Big, Other, Big…) and 30 in schedule (Big, Other…), each a sixteenth of a page's bytes; as
 * entries. (30: a ZSCAN COUNT of 15 returns the rest of its last bucket, and could take 16 or so at once.)
 */
async function seed(): Promise<{ big: string[]; other: string[] }> {
  const made = { big: [] as string[], other: [] as string[] };
  const seeding = redis.source().pipeline().sadd('queues', 'default');
  for (let i = 0; i < 30; i++) {
    const payload = big(i, i % 2 === 0 ? 'Big' : 'Other');
    seeding.lpush('queue:default', payload);
    (i % 2 === 0 ? made.big : made.other).push(jobDigestEntry('queue:default', payload));
  }
  for (let i = 0; i < 30; i++) {
    const payload = big(100 + i, i % 2 === 0 ? 'Big' : 'Other');
    seeding.zadd('schedule', String(2e9 + i), payload);
    (i % 2 === 0 ? made.big : made.other).push(jobDigestEntry('schedule', payload, String(2e9 + i)));
  }
  await seeding.exec();
  return made;
}

describe('large jobs at the CLI', () => {
  it('drain-check and drain-check --classes count every job exactly, no read asking for more than 15', async () => {
    await seed();

    const whole = await watched('drain-check', '--redis', redis.urls().source, '--json');
    const report = JSON.parse(whole.stdout) as { remaining: number; sets: { schedule: { total: number; orphaned: number; orphanedEstimated: boolean } } };
    expect(report.remaining).toBe(60);
    expect(report.sets.schedule).toMatchObject({ total: 30, orphaned: 30, orphanedEstimated: false });
    expect(whole.reads.filter((r) => r.command === 'zscan').length).toBeGreaterThanOrEqual(2);
    for (const read of whole.reads) expect(read.asked, JSON.stringify(read)).toBeLessThanOrEqual(15);

    const selected = await watched('drain-check', '--redis', redis.urls().source, '--classes', 'Big', '--json');
    expect(selected.code).toBe(3); // stuck: no Sidekiq process listens here
    expect(JSON.parse(selected.stdout)).toMatchObject({ selection: { left: 30, drained: false, byClass: { Big: { 'queue:default': 15, schedule: 15 } } } });
    for (const read of selected.reads) expect(read.asked, JSON.stringify(read)).toBeLessThanOrEqual(15);
  }, 60_000);

  it('move --classes moves every selected job once and keeps every other one, its plan and slices reading at most 15 jobs (and the 33 around the anchor)', async () => {
    const jobs = await seed();

    const move = await watched('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'Big', '--json');

    expect(move.code).toBe(0);
    expect(JSON.parse(move.stdout)).toMatchObject({ complete: true, selection: { jobs: 30 } });
    expect(await jobDigestsIn(redis.target())).toEqual(jobs.big.sort());
    expect(await jobDigestsIn(redis.source())).toEqual(jobs.other.sort());
    expect(move.reads.length).toBeGreaterThan(0);
    for (const read of move.reads) expect(read.asked, JSON.stringify(read)).toBeLessThanOrEqual(15 + 33);
  }, 60_000);
});
