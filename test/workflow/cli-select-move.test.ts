import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { tempFileWriter } from '../support/temp-files.js';

// Issue #17 end to end at the CLI: a class moves to shard b with its rule's third element, and
// back when the element is removed; every other job of the shared queue and sets stays, byte for byte.

const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-select-move-');
const rulesWith = (workers: readonly string[]) =>
  file(`gitlab-${workers.length}.yml`, `production:\n  sidekiq:\n    routing_rules:\n      - ["worker_name=${workers.join(',')}", "default", "queues_shard_catchall_b"]\n      - ["*", "default"]\n`);
const redisYml = () => file('redis.yml', `production:\n  url: "${redis.urls().source}"\n  queues_shard_catchall_b:\n    url: "${redis.urls().target}"\n`);

const cli = runCli;

const ADMIN = 'AdminEmailWorker';
const ARCHIVE = 'RepositoryArchiveCacheWorker';
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';

/** Jobs of the three classes interleaved on the shared `default` queue and in the sets; each as the entry it is. */
async function seed(): Promise<{ admin: string[]; archive: string[]; staying: string[] }> {
  const made = { admin: [] as string[], archive: [] as string[], staying: [] as string[] };
  const source = redis.source();
  for (let i = 0; i < 30; i++) {
    const [cls, into] = i % 3 === 0 ? [ADMIN, made.admin] : i % 3 === 1 ? [ARCHIVE, made.archive] : [STAYING, made.staying];
    const payload = sidekiqPayload({ className: cls, args: `[${i}]` });
    await source.rpush('queue:default', payload);
    into.push(jobEntry('queue:default', payload));
  }
  await source.sadd('queues', 'default');
  for (const [set, score, cls, into] of [
    ['schedule', '2000000000', ADMIN, made.admin],
    ['schedule', '2000000001', STAYING, made.staying],
    ['retry', '2000000002', ARCHIVE, made.archive],
    ['dead', '1700000000', ADMIN, made.admin],
    ['dead', '1700000001', STAYING, made.staying],
  ] as const) {
    const payload = sidekiqPayload({ className: cls, args: `["${set}"]`, extra: '"retry_count":1' });
    await source.zadd(set, score, payload);
    into.push(jobEntry(set, payload, score));
  }
  return made;
}

describe('move with a selection, end to end', () => {
  it('--store carries exactly the jobs of the classes whose rule names it to the shard, and --store main carries a class back', async () => {
    const jobs = await seed();
    const twoToB = rulesWith([ADMIN, ARCHIVE]);

    const there = await cli('move', '--redis-yml', redisYml(), '--from', 'main', '--to', 'queues_shard_catchall_b', '--catalog', CE_CATALOG, '--rules', twoToB, '--store', 'queues_shard_catchall_b', '--page-size', '4');

    expect(there.code).toBe(0);
    expect(there.stdout).toContain('Complete');
    await expectExactJobs(redis.source(), '', jobs.staying, 'the old Redis keeps the staying class');
    await expectExactJobs(redis.target(), '', [...jobs.admin, ...jobs.archive], 'the shard has the moving classes');
    const check = await cli('drain-check', '--redis-yml', redisYml(), '--redis', 'main', '--catalog', CE_CATALOG, '--rules', twoToB, '--store', 'queues_shard_catchall_b');
    expect(check.stdout).toMatch(/^Selected classes: DRAINED — none of their jobs is left on redis:\/\/127\.0\.0\.1:\d+\.$/m);
    expect(check.code).toBe(3); // the staying class's queue has no live Sidekiq process here: orphans, as before

    // AdminEmailWorker's rule loses its store: its jobs go back to main, ARCHIVE's stay on the shard.
    const back = await cli('move', '--redis-yml', redisYml(), '--from', 'queues_shard_catchall_b', '--to', 'main', '--catalog', CE_CATALOG, '--rules', rulesWith([ARCHIVE]), '--store', 'main', '--page-size', '4');

    expect(back.code).toBe(0);
    await expectExactJobs(redis.target(), '', jobs.archive, 'the shard keeps the class still routed there');
    await expectExactJobs(redis.source(), '', [...jobs.staying, ...jobs.admin], 'main has its classes back');
  });

  it('--classes carries exactly those classes; a second run finds nothing left and moves nothing', async () => {
    const jobs = await seed();

    const first = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', ARCHIVE, '--page-size', '3');
    const again = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', ARCHIVE, '--json');

    expect(first.code).toBe(0);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ complete: true, selection: { jobs: 0 }, totals: { written: 0 } });
    // Found none of what it was asked for: it says so, not "everything … was moved".
    const third = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', ARCHIVE);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('Complete: no job of the selected classes was on the source; nothing was moved.');
    expect(third.stdout).not.toContain('everything that could be moved was moved');
    expect(first.stdout).toContain('Complete: everything that could be moved was moved.');
    await expectExactJobs(redis.source(), '', [...jobs.staying, ...jobs.admin]);
    await expectExactJobs(redis.target(), '', jobs.archive);
  });

  it('a selected class the catalog does not know (a mailer) is carried unchanged, and the warning says so', async () => {
    const jobs = await seed();
    const source = redis.source();
    const MAILER = 'ActionMailer::MailDeliveryJob';
    const wrapper = (jid: string) =>
      `{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"${MAILER}","queue":"mailers","args":[{"job_class":"${MAILER}","job_id":"${jid}","queue_name":"mailers","arguments":[]}],"retry":3,"jid":"${jid}","created_at":1700000000.5}`;
    await source.lpush('queue:mailers', wrapper('mail1'));
    await source.sadd('queues', 'mailers');
    await source.zadd('retry', '2000000003', wrapper('mail2'));
    const mails = [jobEntry('queue:mailers', wrapper('mail1')), jobEntry('retry', wrapper('mail2'), '2000000003')];

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--catalog', CE_CATALOG, '--rules', rulesWith([ADMIN]), '--classes', `${ARCHIVE},${MAILER}`);

    expect(moved.code).toBe(0);
    // It said their jobs "stay on the source" while the move carried them: the warning tells what happens.
    expect(moved.stderr).toContain(`warning: 1 selected class(es) are not in the catalog, so the rules give them no queue: a move carries their jobs unchanged, to the queue or set they are in: ${MAILER}\n`);
    expect(moved.stderr).not.toContain('stay on the source');
    expect(moved.stdout).toContain('Complete: everything that could be moved was moved.');
    await expectExactJobs(redis.source(), '', [...jobs.staying, ...jobs.admin]);
    await expectExactJobs(redis.target(), '', [...jobs.archive, ...mails]);
  });

  it("jobs only in GitLab's interrupted set: moved, and not called 'nothing was there to move'", async () => {
    const payload = sidekiqPayload({ className: ARCHIVE, args: '["interrupted"]', extra: '"interrupted_count":3' });
    await redis.source().zadd('interrupted', '1700000000', payload);

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', ARCHIVE);

    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('Written to: interrupted 1');
    // The source's only Sidekiq key was `interrupted`, which the check for Sidekiq data did not know.
    expect(moved.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    await expectExactJobs(redis.source(), '', []);
    await expectExactJobs(redis.target(), '', [jobEntry('interrupted', payload, '1700000000')]);
  });

  it('600 selected classes over 12 shared queues: every one moves, and the per-class counts stay within the 256 KiB a state may hold', async () => {
    // Long names, as GitLab's are: without a bound on the counters by class, a batch of ten queue
    // items would carry ~45 KB of class names each through the state machine.
    const classes = Array.from({ length: 600 }, (_, i) => `Gitlab::BackgroundMigration::ShardedProjectImportWorker${String(i).padStart(4, '0')}`);
    const source = redis.source();
    const moving: string[] = [];
    const staying: string[] = [];
    for (let q = 0; q < 12; q++) {
      const queue = `shared_${q}`;
      const payloads = classes.map((cls, i) => sidekiqPayload({ className: cls, queue, args: `[${q}, ${i}]` }));
      const stays = sidekiqPayload({ className: 'StayingWorker', queue, args: `[${q}]` });
      await source.rpush(`queue:${queue}`, ...payloads, stays);
      await source.sadd('queues', queue);
      moving.push(...payloads.map((p) => jobEntry(`queue:${queue}`, p)));
      staying.push(jobEntry(`queue:${queue}`, stays));
    }
    const list = file('classes-600.json', JSON.stringify(classes));

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes-file', list, '--page-size', '100', '--json');

    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    const summary = JSON.parse(moved.stdout) as { complete: boolean; totals: { written: number; byClass: Record<string, Record<string, number>> } };
    expect(summary).toMatchObject({ complete: true, totals: { written: 600 * 12 } });
    // The first 50 classes by name, the rest added up, every job counted once.
    expect(Object.keys(summary.totals.byClass)).toHaveLength(51);
    const counted = Object.values(summary.totals.byClass).flatMap((perKey) => Object.values(perKey)).reduce((a, b) => a + b, 0);
    expect(counted).toBe(600 * 12);
    await expectExactJobs(redis.source(), '', staying, 'the staying class keeps its place on every queue');
    await expectExactJobs(redis.target(), '', moving, 'every job of the 600 classes, once');
  });
});
