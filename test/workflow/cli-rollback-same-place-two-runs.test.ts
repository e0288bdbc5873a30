// Two runs that moved one class to one queue, each from another queue: r1 A old1 → new, then r2
// A old2 → new (a producer kept pushing A to old2). Each records its moves per class and queue.
//
// Defect (audit-rbdeployed): `rollback r1` put back every A job on new, r2's too, onto old1 (where
// r2's never were) and said "Complete: everything that could be moved was moved."; its dry run
// "would put back 4 job(s) and leave none behind". A job does not say which run moved it, so no
// rollback of either can tell them apart. Now the plan refuses it (the dry run too), naming the
// other run, before any lock or write: exit 1, every job where it was.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-same-place-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });
const onNew = (j: string) => j.replace(/"queue":"old\d"/, '"queue":"new"');

describe('two runs that moved one class to one queue from other queues', { timeout: 120_000 }, () => {
  it("a rollback of either is refused, naming the other, touching nothing (it put the other run's jobs back too)", async () => {
    const c = redis.client();
    const fromOld1 = [job('A', 'old1', 1), job('A', 'old1', 2)];
    const fromOld2 = [job('A', 'old2', 3), job('A', 'old2', 4)];
    await c.lpush('queue:old1', ...fromOld1);
    await c.sadd('queues', 'old1');
    expect((await runCli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    await c.lpush('queue:old2', ...fromOld2);
    await c.sadd('queues', 'old2');
    expect((await runCli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r2')).code).toBe(0);
    const before = [...fromOld1, ...fromOld2].map((j) => jobEntry('queue:new', onNew(j))).sort();
    expect(await jobsIn(c)).toEqual(before);

    const dry = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    const back = await runCli('rollback', 'r1', '--redis', redis.url());
    const other = await runCli('rollback', 'r2', '--redis', redis.url());

    const words = (of: string, otherRun: string, otherFrom: string, from: string) =>
      `A rollback of run ${of} would put back jobs another run moved: run ${otherRun} moved class A to new from ${otherFrom} (run ${of} from ${from}). A rollback puts back every job of a class on a queue its run moved it to (a job does not say which run moved it), ` +
      `so it would put ${otherRun}'s jobs on ${from}, and a rollback of ${otherRun} would put ${of}'s elsewhere. Refused while those runs' records are kept (30 days). ` +
      'Move the jobs of those classes on those queues by hand, each to the queue it came from. Nothing was touched.\n';
    expect(dry).toMatchObject({ code: 1, stdout: '', stderr: words('r1', 'r2', 'old2', 'old1') });
    expect(back).toMatchObject({ code: 1, stdout: '', stderr: words('r1', 'r2', 'old2', 'old1') });
    expect(other).toMatchObject({ code: 1, stdout: '', stderr: words('r2', 'r1', 'old1', 'old2') });
    expect(await jobsIn(c)).toEqual(before);
  });
});
