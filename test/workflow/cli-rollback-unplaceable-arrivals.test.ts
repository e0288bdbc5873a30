// Jobs pushed, while a rollback (or its dry run) reads, to a queue it drains, of a class it cannot
// put back there: run r1 moved A jobs to queue:new from two queues (old1 and old2), so which one
// each came from is unknown (reverse-plan.ts: unrestorable), and a rollback leaves A jobs on new.
//
// Defect (audit-rbdeployed): misplacedArrivals counted them among the jobs "of the classes it puts
// back", so the dry run said "a rollback would put back 2 job(s) and leave none behind, and take
// in too the 2 that arrived" and a rollback started then left them (counted as unmapped). Now an
// arrival a rollback cannot place is counted as what it is, unmapped (left in place, with its
// reason), by the dry run and the rollback alike: their verdicts say jobs are left behind.
import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-unplaceable-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new', B: 'new' }));
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });

/** Once `lrange queue:new` is sent the second time, a producer on r1's routing pushes `jobs` there. */
async function pushOnSecondPage(url: string, jobs: string[]) {
  const producer = new Redis(url, { protocol: 2 });
  const monitor = await new Redis(url, { protocol: 2 }).monitor();
  let pages = 0;
  let pushing: Promise<unknown> | undefined;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'lrange' && args[1] === 'queue:new' && ++pages === 2) pushing = producer.lpush('queue:new', ...jobs);
  });
  return {
    pushed: () => pushing !== undefined,
    done: async () => {
      monitor.disconnect();
      await pushing;
      producer.disconnect();
    },
  };
}

describe('arrivals a rollback cannot place', { timeout: 180_000 }, () => {
  it('are counted as left behind (unmapped) by the dry run and the rollback alike, never "take in too"', async () => {
    const c = redis.client();
    const bJobs = Array.from({ length: 300 }, (_, i) => job('B', 'old1', i));
    await c.lpush('queue:old1', ...bJobs, job('A', 'old1', 1000));
    await c.lpush('queue:old2', job('A', 'old2', 1001));
    await c.sadd('queues', 'old1', 'old2');
    expect((await runCli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    // Workers took the two A jobs r1 moved: queue:new holds r1's B jobs alone.
    await c.lrem('queue:new', 0, job('A', 'old1', 1000).replace('"queue":"old1"', '"queue":"new"'));
    await c.lrem('queue:new', 0, job('A', 'old2', 1001).replace('"queue":"old2"', '"queue":"new"'));
    const movedB = bJobs.map((j) => j.replace('"queue":"old1"', '"queue":"new"'));
    expect(await jobsIn(c)).toEqual(movedB.map((j) => jobEntry('queue:new', j)).sort());

    const arrivals = [job('A', 'new', 2001), job('A', 'new', 2002)];
    const producer = await pushOnSecondPage(redis.url(), arrivals);
    const dry = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run', '--page-size', '50');
    await producer.done();

    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(producer.pushed(), 'the producer pushed during the dry run').toBe(true);
    expect(await jobsIn(c)).toEqual([...movedB, ...arrivals].map((j) => jobEntry('queue:new', j)).sort());
    expect(dry.stdout).not.toMatch(/take in too|arrived/);
    expect(lastLine(dry.stdout)).toBe('Dry run, nothing written: a rollback would put back 300 job(s) and leave jobs behind: 2 left in place (see "Needs a look" above).');

    // The rollback, while the same producer pushes 2 more A jobs to queue:new as it reads.
    const more = [job('A', 'new', 2003), job('A', 'new', 2004)];
    const again = await pushOnSecondPage(redis.url(), more);
    const back = await runCli('rollback', 'r1', '--redis', redis.url(), '--page-size', '50');
    await again.done();

    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(again.pushed(), 'the producer pushed during the rollback').toBe(true);
    expect(await jobsIn(c)).toEqual([...bJobs.map((j) => jobEntry('queue:old1', j)), ...[...arrivals, ...more].map((j) => jobEntry('queue:new', j))].sort());
    expect(back.stdout).not.toMatch(/arrived|roll back r1 again/);
    expect(back.stdout).toContain('\nLeft in place, cannot be put back (the samples say why): A 4\n');
    expect(lastLine(back.stdout)).toBe('Done, but jobs were left behind: 4 left in place (see "Needs a look" above).');
    // The dry run's words and the rollback's agree: what it leaves, it says it leaves, and why.
    expect(dry.stdout).toContain('\nLeft in place, cannot be put back (the samples say why): A 2\n');
    expect(dry.stdout).toContain('run r1 moved such jobs here from several queues (old1, old2): cannot tell which one each came from');
  });
});
