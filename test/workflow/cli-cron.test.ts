// sidekiq-cron definitions through `run` and `move`: named, rewritten (--rewrite-cron) or copied
// (--cron), bytes preserved but for the queue value; a dry run writes nothing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
interface Fixture {
  readonly index: string;
  readonly key: string;
  readonly fields: Record<string, string>;
}
const fixtures = JSON.parse(readFileSync(repoPath('test/fixtures/sidekiq-cron/definitions.json'), 'utf8')) as Record<string, Fixture>;
const stuck = fixtures['1.x']!;
const pipeline = fixtures['2.x']!;

const cli = runCli;

async function seed(): Promise<void> {
  for (const f of [stuck, pipeline]) {
    await redis.source().sadd(f.index, f.key);
    await redis.source().hset(f.key, f.fields);
  }
  await redis.source().lpush('queue:cronjob:stuck_ci_jobs', sidekiqPayload({ className: 'StuckCiJobsWorker', queue: 'cronjob:stuck_ci_jobs' }));
}
const rename = ['--rename', 'cronjob:stuck_ci_jobs=cronjob'];

describe('sidekiq-cron definitions in run and move', () => {
  it('run names a definition that still pushes to a queue it drains, and rewrites nothing without --rewrite-cron', async () => {
    await seed();

    const { code, stderr } = await cli('run', '--redis', redis.urls().source, ...rename);

    expect(code).toBe(0);
    expect(stderr).toContain('warning: 1 sidekiq-cron definition(s) still push to their old queue (stuck_ci_jobs_worker: cronjob:stuck_ci_jobs → cronjob)');
    expect(await redis.source().hget(stuck.key, 'message')).toBe(stuck.fields['message']);
  });

  it('a dry run with --rewrite-cron says what it would rewrite and writes nothing', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source(), '');

    const { code, stderr } = await cli('run', '--redis', redis.urls().source, ...rename, '--rewrite-cron', '--dry-run');

    expect(code).toBe(0);
    expect(stderr).toContain('sidekiq-cron: 1 definition(s) would be rewritten to push to their new queue (stuck_ci_jobs_worker: cronjob:stuck_ci_jobs → cronjob)');
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('run --rewrite-cron rewrites only the queue value of the definition, every other byte and field kept', async () => {
    await seed();
    const others = await redis.source().hgetall(pipeline.key);

    const { code, stderr } = await cli('run', '--redis', redis.urls().source, ...rename, '--rewrite-cron');

    expect(code).toBe(0);
    expect(stderr).toContain('sidekiq-cron: 1 definition(s) now push to their new queue (stuck_ci_jobs_worker: cronjob:stuck_ci_jobs → cronjob)');
    const expected = { ...stuck.fields, message: stuck.fields['message']!.replace('"queue":"cronjob:stuck_ci_jobs"', '"queue":"cronjob"') };
    expect(await redis.source().hgetall(stuck.key)).toEqual(expected);
    expect(Buffer.from((await redis.source().hgetBuffer(stuck.key, 'message'))!).toString('hex')).toBe(Buffer.from(expected.message).toString('hex'));
    expect(await redis.source().hgetall(pipeline.key)).toEqual(others);
  });

  it('move of selected classes (the shard runbook): the definitions stay on the source, said without advising --cron; --cron with a selection is refused, touching nothing', async () => {
    await seed();

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'StuckCiJobsWorker', '--no-queues', '--sets', 'schedule');

    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain(
      'sidekiq-cron: 2 definition(s) on the source stay there: a move of selected classes carries their jobs, not the schedules that push them (copied, each schedule would push from both Redis servers).\n',
    );
    expect(moved.stderr).not.toContain('--cron');
    expect(await redis.target().exists(stuck.key, pipeline.key)).toBe(0);

    const before = { source: await keyValueSnapshot(redis.source(), ''), target: await keyValueSnapshot(redis.target(), '') };
    const refused = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'StuckCiJobsWorker', '--cron');
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      "--cron copies every sidekiq-cron definition of the source, not only the selected classes: with --classes, --classes-file or --store each schedule would push from both Redis servers. Leave the definitions where they are, or copy them with a move of every class. Nothing was touched.",
    );
    expect({ source: await keyValueSnapshot(redis.source(), ''), target: await keyValueSnapshot(redis.target(), '') }).toEqual(before);
  });

  it('move --cron copies the definitions to the new Redis; without it they are named as left behind', async () => {
    await seed();

    const without = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule');

    expect(without.code).toBe(0);
    expect(without.stderr).toContain('sidekiq-cron: 2 definition(s) on the source are not copied to the target');
    expect(await redis.target().exists(stuck.key, pipeline.key)).toBe(0);

    const carried = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');

    expect(carried.code).toBe(0);
    expect(carried.stderr).toContain('sidekiq-cron: 2 definition(s) copied to the target; the source keeps its own.');
    for (const f of [stuck, pipeline]) {
      expect(await redis.target().hgetall(f.key)).toEqual(f.fields);
      expect(await redis.target().smembers(f.index)).toEqual([f.key]);
      expect(await redis.source().hgetall(f.key)).toEqual(f.fields);
    }
  });

  it('refuses --rewrite-cron and --cron where they do not apply: exit 2, nothing touched', async () => {
    const { code, stderr } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rewrite-cron');

    expect(code).toBe(2);
    expect(stderr).toMatch(/rewrite-cron/);
  });
});
