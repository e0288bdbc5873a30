import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A GitLab with one queue per worker has hundreds of retired queues. A run's summary state lists
// the counters of its first 50 sets and queues (its state stays small); the local CLI sees every
// one. "Needs a look" named the queues that had quarantined jobs, jobs kept on live queues or
// arrivals from that list of 50 only: a queue past it was not named, and the line could be left
// with no queue at all ("Left in place on live queues (…): " and nothing after it). The --json
// summary's `sets` and `queues` held those 50 only, with their destinations, classes and samples
// emptied (`"movedTo": {}` for a set that moved every entry).
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-by-queue-past-listed-'));
const RETIRED = 60;
// GitLab's first 60 workers, each with its generated queue, which the rule `*` → new retires.
const CATALOG = 'test/fixtures/gitlab/all_queues.yml';
const workers = [...readFileSync(CATALOG, 'utf8').matchAll(/^- :name: (\S+)\n {2}:worker_name: (\S+)$/gm)].slice(0, RETIRED).map((m) => ({ queue: m[1]!, className: m[2]! }));
const old = (i: number) => workers[i]!.queue;
const rules = join(dir, 'rules.yml');
writeFileSync(rules, '[["*", "new"]]\n');
const routing = ['--catalog', CATALOG, '--rules', rules];

async function seed(): Promise<{ moved: string[]; mail: string; gone: string; scheduled: string }> {
  const source = redis.source();
  const moved: string[] = [];
  for (let i = 0; i < RETIRED; i++) {
    const job = sidekiqPayload({ className: workers[i]!.className, queue: old(i), args: `[${i}]` });
    moved.push(job);
    await source.rpush(`queue:${old(i)}`, job);
    await source.sadd('queues', old(i));
  }
  // Past the first 50 (queues are planned in name order): a mail on GitLab's live queue mailers,
  // which no rule routes, and a job of a removed worker on its retired queue.
  const mail = sidekiqPayload({ className: 'ActionMailer::MailDeliveryJob', queue: 'mailers', args: '["m"]' });
  const gone = sidekiqPayload({ className: 'RemovedWorker', queue: 'z_removed', args: '["r"]' });
  await source.rpush('queue:mailers', mail);
  await source.rpush('queue:z_removed', gone);
  await source.sadd('queues', 'mailers', 'z_removed');
  const scheduled = sidekiqPayload({ className: workers[0]!.className, queue: old(0), args: '["s"]' });
  await source.zadd('schedule', '1795459303.5', scheduled);
  return { moved, mail, gone, scheduled };
}

describe('sets and queues past the first 50 a run summary lists', { timeout: 180_000 }, () => {
  it('run --unmapped quarantine names the quarantined queue and the live queue that kept its job, wherever they are in the list', async () => {
    const { moved, mail, gone, scheduled } = await seed();

    const dry = await runCli('run', '--redis', redis.urls().source, ...routing, '--unmapped', 'quarantine', '--dry-run');
    const run = await runCli('run', '--redis', redis.urls().source, ...routing, '--unmapped', 'quarantine');

    for (const [result, would] of [[dry, 'Would be quarantined'], [run, 'Quarantined']] as const) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`\n${would} to sidekiq-migrate:quarantine:<queue>, by queue: queue:z_removed 1\n`);
      expect(result.stdout).toContain('\nLeft in place on live queues (still routed to or fetched; never quarantined): queue:mailers 1\n');
    }
    expect(run.stdout).toMatch(/\nDone, but jobs were left behind: 1 quarantined · 1 left in place \(see "Needs a look" above\)\.\n$/);
    await expectExactJobs(redis.source(), '', [
      ...moved.map((job, i) => jobEntry('queue:new', withQueue(job, old(i), 'new'))),
      jobEntry('queue:mailers', mail),
      jobEntry('schedule', withQueue(scheduled, old(0), 'new'), '1795459303.5'),
    ]);
    expect(await redis.source().lrange('sidekiq-migrate:quarantine:z_removed', 0, -1)).toEqual([gone]);
  });

  it('--json: sets and queues hold every one with its destinations, classes and samples, as items has them', async () => {
    const { moved, mail, gone } = await seed();

    const run = await runCli('run', '--redis', redis.urls().source, ...routing, '--unmapped', 'quarantine', '--json');

    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      sets: Record<string, { moved: number; movedTo: Record<string, number> }>;
      queues: Record<string, { moved: number; quarantined: number; keptOnLiveQueues: number; movedTo: Record<string, number>; unmappedClasses: Record<string, number>; quarantinedClasses: Record<string, number> }>;
      unlisted?: number;
      items: { kind: string; name: string; counters: unknown }[];
    };
    expect(Object.keys(summary.queues).sort()).toEqual([...Array.from({ length: RETIRED }, (_, i) => old(i)), 'mailers', 'z_removed'].sort());
    expect(summary.unlisted ?? 0).toBe(0);
    expect(summary.sets['schedule']).toMatchObject({ moved: 1, movedTo: { new: 1 } });
    expect(summary.queues[old(59)]).toMatchObject({ moved: 1, movedTo: { new: 1 } });
    expect(summary.queues['z_removed']).toMatchObject({ moved: 0, quarantined: 1, quarantinedClasses: { RemovedWorker: 1 } });
    expect(summary.queues['mailers']).toMatchObject({ moved: 0, keptOnLiveQueues: 1, unmappedClasses: { 'ActionMailer::MailDeliveryJob': 1 } });
    for (const item of summary.items) expect(item.kind === 'set' ? summary.sets[item.name] : summary.queues[item.name]).toEqual(item.counters);
    expect(moved).toHaveLength(RETIRED);
    expect(await redis.source().lrange('queue:mailers', 0, -1)).toEqual([mail]);
    expect(await redis.source().lrange('sidekiq-migrate:quarantine:z_removed', 0, -1)).toEqual([gone]);
    expect(await redis.source().llen('queue:new')).toBe(RETIRED);
  });
});
