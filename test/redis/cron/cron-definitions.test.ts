import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { carryCronDefinitions } from '../../../core/cron/carry-cron-definitions.js';
import { readCronDefinitions } from '../../../core/cron/cron-definitions.js';
import { rewriteCronQueues, routeCronDefinitions } from '../../../core/cron/rewrite-cron-queues.js';
import { PlanSupersededError } from '../../../core/errors/plan-superseded-error.js';
import { runLockKey } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import type { PlanGuard } from '../../../core/workflow/planner-guard.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { repoPath } from '../../support/paths.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';

const redis = connectShared();
interface Fixture {
  readonly index: string;
  readonly key: string;
  readonly fields: Record<string, string>;
}
const fixtures = JSON.parse(readFileSync(repoPath('test/fixtures/sidekiq-cron/definitions.json'), 'utf8')) as Record<string, Fixture>;

async function save(client: Redis, keys: SidekiqKeys, ...which: string[]): Promise<void> {
  for (const name of which) {
    const f = fixtures[name]!;
    await client.sadd(`${keys.prefix}${f.index}`, f.key);
    await client.hset(`${keys.prefix}${f.key}`, f.fields);
  }
}

const planner = { runId: 'run-1', plannedAt: 1_796_000_000_000, plannedBy: 'arn:exec:A' };

/** The run's lock under `keys`, held by `planner` (or by `holder`), and the guard of its writes. */
async function lockedBy(keys: SidekiqKeys, holder: object = planner): Promise<PlanGuard> {
  await redis.set(runLockKey(keys.prefix), JSON.stringify(holder));
  return { lockKey: runLockKey(keys.prefix), planner, where: 'source redis://here' };
}

const plan = classRoutingPlan(new Map([['StuckCiJobsWorker', 'cronjob'], ['PipelineScheduleWorker', 'cronjob:pipeline_schedule']]));

describe('sidekiq-cron definitions', () => {
  it('are read in both layouts (1.x and 2.x), under the prefix, with the queue each pushes to', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await save(redis, keys, '1.x', '2.x', 'disabled');

    const found = await readCronDefinitions(redis, keys);

    expect(found.map(({ key, name, namespace, className, queue, enabled, problem }) => ({ key, name, namespace, className, queue, enabled, problem }))).toEqual([
      { key: `${keys.prefix}cron_job:default:pipeline_schedule_worker`, name: 'pipeline_schedule_worker', namespace: 'default', className: 'PipelineScheduleWorker', queue: 'cronjob:pipeline_schedule', enabled: true, problem: null },
      { key: `${keys.prefix}cron_job:default:removed_worker`, name: 'removed_worker', namespace: 'default', className: 'RemovedWorker', queue: 'removed', enabled: false, problem: null },
      { key: `${keys.prefix}cron_job:stuck_ci_jobs_worker`, name: 'stuck_ci_jobs_worker', namespace: null, className: 'StuckCiJobsWorker', queue: 'cronjob:stuck_ci_jobs', enabled: true, problem: null },
    ]);
  });

  it('rewrites only the queue value of the definitions routing moves, bytes preserved, other fields untouched', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await save(redis, keys, '1.x', '2.x', 'disabled');
    const before = await redis.hgetallBuffer(`${keys.prefix}${fixtures['1.x']!.key}`);

    const routes = routeCronDefinitions(await readCronDefinitions(redis, keys), plan);
    const result = await rewriteCronQueues(redis, routes, await lockedBy(keys));

    expect(result).toEqual({ rewritten: [{ name: 'stuck_ci_jobs_worker', from: 'cronjob:stuck_ci_jobs', to: 'cronjob' }], changedMeanwhile: [] });
    const after = await redis.hgetallBuffer(`${keys.prefix}${fixtures['1.x']!.key}`);
    const expectedMessage = fixtures['1.x']!.fields['message']!.replace('"queue":"cronjob:stuck_ci_jobs"', '"queue":"cronjob"');
    expect({ ...after, message: after['message']!.toString('hex') }).toEqual({ ...before, message: Buffer.from(expectedMessage).toString('hex') });
    // Already routed, and a class with no destination: as they were.
    expect(await redis.hget(`${keys.prefix}${fixtures['2.x']!.key}`, 'message')).toBe(fixtures['2.x']!.fields['message']);
    expect(await redis.hget(`${keys.prefix}${fixtures['disabled']!.key}`, 'message')).toBe(fixtures['disabled']!.fields['message']);
  });

  it('never overwrites a definition saved between the read and the write', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await save(redis, keys, '1.x');
    const routes = routeCronDefinitions(await readCronDefinitions(redis, keys), plan);
    const savedMeanwhile = '{"retry":false,"queue":"elsewhere","class":"StuckCiJobsWorker","args":[]}';
    await redis.hset(`${keys.prefix}${fixtures['1.x']!.key}`, 'message', savedMeanwhile);

    const result = await rewriteCronQueues(redis, routes, await lockedBy(keys));

    expect(result).toEqual({ rewritten: [], changedMeanwhile: ['stuck_ci_jobs_worker'] });
    expect(await redis.hget(`${keys.prefix}${fixtures['1.x']!.key}`, 'message')).toBe(savedMeanwhile);
  });

  it('without a message (klass or class, and queue fields): never overwrites one whose fields changed between the read and the write', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const base = { klass: 'StuckCiJobsWorker', cron: '0 * * * *', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' };
    // Each changed meanwhile in one of the fields sidekiq-cron builds its message from; `untouched` not.
    const meanwhile: Record<string, [Record<string, string>, (key: string) => Promise<unknown>]> = {
      message_added: [base, (key) => redis.hset(key, 'message', '{"queue":"elsewhere","class":"StuckCiJobsWorker","args":[]}')],
      queue_saved: [base, (key) => redis.hset(key, 'queue', 'elsewhere')],
      klass_saved: [base, (key) => redis.hset(key, 'klass', 'OtherWorker')],
      klass_added: [{ ...base, klass: undefined!, class: 'StuckCiJobsWorker' }, (key) => redis.hset(key, 'klass', 'StuckCiJobsWorker')],
      class_removed: [{ ...base, class: 'StuckCiJobsWorker' }, (key) => redis.hdel(key, 'class')],
      untouched: [{ ...base, class: 'StuckCiJobsWorker' }, async () => undefined],
    };
    for (const [name, [fields]] of Object.entries(meanwhile)) {
      await redis.sadd(`${keys.prefix}cron_jobs`, `cron_job:${name}`);
      await redis.hset(`${keys.prefix}cron_job:${name}`, Object.fromEntries(Object.entries({ name, ...fields }).filter(([, v]) => v !== undefined)));
    }
    const routes = routeCronDefinitions(await readCronDefinitions(redis, keys), plan);
    expect(routes.map((r) => [r.definition.name, r.to])).toEqual(Object.keys(meanwhile).sort().map((name) => [name, 'cronjob']));
    for (const [name, [, change]] of Object.entries(meanwhile)) await change(`${keys.prefix}cron_job:${name}`);
    const guard = await lockedBy(keys);
    const untouched = `${keys.prefix}cron_job:untouched`;
    const { [untouched]: _, ...before } = await keyValueSnapshot(redis, keys.prefix);
    const fieldsBefore = await redis.hgetall(untouched);

    const result = await rewriteCronQueues(redis, routes, guard);

    expect(result).toEqual({ rewritten: [{ name: 'untouched', from: 'cronjob:stuck_ci_jobs', to: 'cronjob' }], changedMeanwhile: ['class_removed', 'klass_added', 'klass_saved', 'message_added', 'queue_saved'] });
    const { [untouched]: __, ...after } = await keyValueSnapshot(redis, keys.prefix);
    expect(after).toEqual(before);
    expect(await redis.hgetall(untouched)).toEqual({ ...fieldsBefore, queue: 'cronjob' });
  });

  it('without a message, ActiveJob with queue_name_prefix: the queue field gets the destination without the prefix, never written once the prefix fields changed', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const digest = classRoutingPlan(new Map([['DigestJob', 'myapp_notify']]));
    // Pushes to myapp_mailers (job.rb queue_name_with_prefix): the rewrite writes "notify", relying on the prefix as read.
    const base = { klass: 'DigestJob', cron: '0 6 * * *', queue: 'mailers', status: 'enabled', active_job: 'true', queue_name_prefix: 'myapp' };
    // No prefix when read: the rewrite writes "myapp_notify", relying on there being none.
    const bare = { klass: 'DigestJob', cron: '0 6 * * *', queue: 'myapp_mailers', status: 'enabled' };
    const meanwhile: Record<string, [Record<string, string>, (key: string) => Promise<unknown>]> = {
      prefix_saved: [base, (key) => redis.hset(key, 'queue_name_prefix', 'other')],
      delimiter_added: [base, (key) => redis.hset(key, 'queue_name_delimiter', '.')],
      active_job_cleared: [base, (key) => redis.hset(key, 'active_job', 'false')],
      active_job_removed: [base, (key) => redis.hdel(key, 'active_job')],
      prefix_added: [bare, (key) => redis.hset(key, 'active_job', 'true', 'queue_name_prefix', 'myapp')],
      untouched: [base, async () => undefined],
      untouched_bare: [bare, async () => undefined],
    };
    for (const [name, [fields]] of Object.entries(meanwhile)) {
      await redis.sadd(`${keys.prefix}cron_jobs`, `cron_job:${name}`);
      await redis.hset(`${keys.prefix}cron_job:${name}`, { name, ...fields });
    }
    const routes = routeCronDefinitions(await readCronDefinitions(redis, keys), digest);
    expect(routes.map((r) => [r.definition.name, r.to, r.rewritten?.toString()])).toEqual(
      Object.keys(meanwhile)
        .sort()
        .map((name) => [name, 'myapp_notify', meanwhile[name]![0] === bare ? 'myapp_notify' : 'notify']),
    );
    for (const [name, [, change]] of Object.entries(meanwhile)) await change(`${keys.prefix}cron_job:${name}`);
    const guard = await lockedBy(keys);
    const untouched = [`${keys.prefix}cron_job:untouched`, `${keys.prefix}cron_job:untouched_bare`];
    const before = Object.fromEntries(Object.entries(await keyValueSnapshot(redis, keys.prefix)).filter(([k]) => !untouched.includes(k)));

    const result = await rewriteCronQueues(redis, routes, guard);

    expect(result).toEqual({
      rewritten: [
        { name: 'untouched', from: 'myapp_mailers', to: 'myapp_notify' },
        { name: 'untouched_bare', from: 'myapp_mailers', to: 'myapp_notify' },
      ],
      changedMeanwhile: ['active_job_cleared', 'active_job_removed', 'delimiter_added', 'prefix_added', 'prefix_saved'],
    });
    const after = Object.fromEntries(Object.entries(await keyValueSnapshot(redis, keys.prefix)).filter(([k]) => !untouched.includes(k)));
    expect(after).toEqual(before);
    expect(await redis.hgetall(untouched[0]!)).toEqual({ name: 'untouched', ...base, queue: 'notify' });
    expect(await redis.hgetall(untouched[1]!)).toEqual({ name: 'untouched_bare', ...bare, queue: 'myapp_notify' });
  });

  it("without a message: not rewritten by a plan whose run's lock a later start of the run took: nothing written, the words say why", async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.sadd(`${keys.prefix}cron_jobs`, 'cron_job:klass_worker');
    await redis.hset(`${keys.prefix}cron_job:klass_worker`, { name: 'klass_worker', klass: 'StuckCiJobsWorker', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' });
    const guard = await lockedBy(keys, { runId: 'run-1', plannedAt: planner.plannedAt + 5, plannedBy: 'arn:exec:B' });
    const before = await keyValueSnapshot(redis, keys.prefix);

    const rewrite = rewriteCronQueues(redis, routeCronDefinitions(await readCronDefinitions(redis, keys), plan), guard);

    await expect(rewrite).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(rewrite).rejects.toThrow(/found on source redis:\/\/here before it rewrote the queue of cron job klass_worker; it wrote nothing more/);
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
  });

  it('are carried to another prefix or Redis as saved (hash and index), never overwriting one the target defines', async () => {
    const from = new SidekiqKeys(uniquePrefix());
    const to = new SidekiqKeys(uniquePrefix());
    await save(redis, from, '1.x', '2.x', 'disabled');
    const targetOwn = { ...fixtures['2.x']!.fields, cron: '*/5 * * * *' };
    await redis.hset(`${to.prefix}${fixtures['2.x']!.key}`, targetOwn);

    const result = await carryCronDefinitions(redis, from, redis, to, await readCronDefinitions(redis, from), await lockedBy(to));

    expect(result).toEqual({ copied: ['removed_worker', 'stuck_ci_jobs_worker'], keptOnTarget: ['pipeline_schedule_worker'], completed: [] });
    for (const name of ['1.x', 'disabled']) {
      const f = fixtures[name]!;
      expect(await redis.hgetallBuffer(`${to.prefix}${f.key}`)).toEqual(await redis.hgetallBuffer(`${from.prefix}${f.key}`));
      expect(await redis.sismember(`${to.prefix}${f.index}`, f.key)).toBe(1);
    }
    expect(await redis.hgetall(`${to.prefix}${fixtures['2.x']!.key}`)).toEqual(targetOwn);
    // The source keeps its definitions.
    expect((await readCronDefinitions(redis, from)).length).toBe(3);
  });

  it("are neither rewritten nor carried by a plan whose run's lock a later start of the run took (it paused meanwhile): nothing written, the words say why", async () => {
    const from = new SidekiqKeys(uniquePrefix());
    const to = new SidekiqKeys(uniquePrefix());
    await save(redis, from, '1.x', '2.x', 'disabled');
    const later = { runId: 'run-1', plannedAt: planner.plannedAt + 5, plannedBy: 'arn:exec:B' };
    const onSource = await lockedBy(from, later);
    const onTarget = await lockedBy(to, later);
    const before = { from: await keyValueSnapshot(redis, from.prefix), to: await keyValueSnapshot(redis, to.prefix) };

    const rewrite = rewriteCronQueues(redis, routeCronDefinitions(await readCronDefinitions(redis, from), plan), onSource);
    await expect(rewrite).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(rewrite).rejects.toThrow(
      /^Run run-1: this plan \(execution arn:exec:A, planned \S+\) was superseded by a later plan of the run \(execution arn:exec:B, planned \S+\), found on source redis:\/\/here before it rewrote the queue of cron job stuck_ci_jobs_worker; it wrote nothing more/,
    );
    const carry = carryCronDefinitions(redis, from, redis, to, await readCronDefinitions(redis, from), onTarget);
    await expect(carry).rejects.toThrow(/before it copied cron job \w+ to the target; it wrote nothing more/);

    expect({ from: await keyValueSnapshot(redis, from.prefix), to: await keyValueSnapshot(redis, to.prefix) }).toEqual(before);
  });
});
