import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A move of a GitLab with a queue per worker writes to more queues than a summary names (50). Its
// dry run said the rest were unnamed also because "a dry run that carries a large routing in every
// state … names fewer: the same run without --dry-run names more", of a move that carried no
// routing at all: the run then named exactly as many. A dry run names fewer only when it carries
// more than 64 KiB of routing and classes (test/workflow/cli-dry-run-long-names), and says so then.
const redis = privateSourceAndTarget();
const QUEUES = 60;
const queue = (i: number) => `q${String(i).padStart(2, '0')}`;

describe('a move dry run to more queues than a summary names', { timeout: 120_000 }, () => {
  it('without routing: the dry run names as many as the run, and does not say the run names more', async () => {
    const source = redis.source();
    const jobs = Array.from({ length: QUEUES }, (_, i) => sidekiqPayload({ className: 'A', queue: queue(i), args: `[${i}]` }));
    for (const [i, job] of jobs.entries()) await source.rpush(`queue:${queue(i)}`, job);
    await source.sadd('queues', ...jobs.map((_, i) => queue(i)));
    const before = await keyValueSnapshot(source);
    const { source: from, target: to } = redis.urls();

    const dry = await runCli('move', '--from', from, '--to', to, '--dry-run');
    const dryLines = dry.stdout.split('\n');
    expect(dry.code, dry.stderr).toBe(0);
    expect(await keyValueSnapshot(source)).toEqual(before);
    expect(await redis.target().dbsize()).toBe(0);

    const run = await runCli('move', '--from', from, '--to', to);
    const runLines = run.stdout.split('\n');
    expect(run.code, run.stderr).toBe(0);

    const unnamed = /^\(other queues\): (\d+) job\(s\) written to queues not named one by one: each set or queue's counts travel in the state machine's states \(256 KiB each\), which name only so many destinations\.$/;
    const writtenTo = (lines: string[]) => lines.find((l) => l.startsWith('Written to'));
    expect(dryLines.find((l) => unnamed.test(l))).toBeDefined();
    expect(dry.stdout).not.toContain('fewer in a dry run');
    expect(dry.stdout).not.toContain('without --dry-run names more');
    expect(writtenTo(dryLines)).toBe(writtenTo(runLines));
    expect(dryLines.find((l) => unnamed.test(l))).toBe(runLines.find((l) => unnamed.test(l)));
    expect(dryLines.at(-2)).toBe(`Dry run, nothing written: a run would move ${QUEUES} job(s) and leave none behind.`);
    expect(runLines.at(-2)).toBe('Complete: everything that could be moved was moved.');
    await expectExactJobs(redis.target(), '', jobs.map((job, i) => jobEntry(`queue:${queue(i)}`, job)));
    expect(await source.exists(...jobs.map((_, i) => `queue:${queue(i)}`))).toBe(0);
  });
});
