import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { allJobs } from '../support/redis-snapshot.js';
import { jobDigestEntry, jobDigestsIn, withQueue } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, dumpAll, emfRecords, fakeContext, logRecords, sumMetrics, type OutputCapture } from './support/lambda-harness.js';
import { commandClock } from '../support/command-clock.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { pageDeadline } from '../../functions/support/time-budget.js';
import { runWorkflow, viaJson } from './support/run-workflow.js';
import { MAX_PAGE_BYTES } from '../../core/redis/page-bytes.js';

// Credentials live only in the (mocked) Secrets Manager: never in env, logs or errors.
const SOURCE_TOKEN = 'auth-token-Q7xV9pLm2Rk';
const TARGET_PASSWORD = 'acl-password-Zt4Wn8Hc';
const SOURCE_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sidekiq-migrate/source-AbCdEf';
const TARGET_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sidekiq-migrate/target-GhIjKl';
// In every job's args: it must never reach a log line.
const ARG_MARKER = 'zebra-tangerine-4471';
const PREFIX = 'resque:gitlab:';

const secrets = mockClient(SecretsManagerClient);
const servers: RedisServerHandle[] = [];
const clients: Redis[] = [];
let source: Redis; // requirepass: a plain AUTH token
let target: Redis; // an ACL user, the default user off
let sourceUrl: string;
let targetUrl: string;

beforeAll(async () => {
  const [s, t] = (await startRedisServers(
    ['--requirepass', SOURCE_TOKEN],
    ['--user', 'migrator', 'on', `>${TARGET_PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'],
  )) as [RedisServerHandle, RedisServerHandle];
  servers.push(s, t);
  sourceUrl = s.url;
  targetUrl = t.url.replace('://', '://migrator@'); // the user may be named in the URL; its password may not
  source = new Redis(s.url, { password: SOURCE_TOKEN, protocol: 2 });
  target = new Redis(t.url, { username: 'migrator', password: TARGET_PASSWORD, protocol: 2 });
  clients.push(source, target);
  secrets.on(GetSecretValueCommand, { SecretId: SOURCE_SECRET }).resolves({ ARN: SOURCE_SECRET, Name: 'source', SecretString: SOURCE_TOKEN });
  secrets
    .on(GetSecretValueCommand, { SecretId: TARGET_SECRET })
    .resolves({ ARN: TARGET_SECRET, Name: 'target', SecretString: JSON.stringify({ username: 'migrator', password: TARGET_PASSWORD, engine: 'redis' }) });
});

afterAll(async () => {
  clients.forEach((c) => c.disconnect());
  await Promise.all(servers.map((s) => s.stop()));
  secrets.restore();
});

const env = (): Record<string, string> => ({
  SIDEKIQ_MIGRATE_SOURCE_URL: sourceUrl,
  SIDEKIQ_MIGRATE_SOURCE_PREFIX: PREFIX,
  SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: SOURCE_SECRET,
  SIDEKIQ_MIGRATE_TARGET_URL: targetUrl,
  SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: TARGET_SECRET,
});

let h: LoadedHandlers;
let out: OutputCapture;
beforeAll(async () => {
  h = await coldStart(env());
});
afterAll(async () => {
  // Unset when loading the handlers outlasted its hook: the servers are still stopped.
  await (h as LoadedHandlers | undefined)?.connections.close();
  vi.unstubAllEnvs();
});
afterEach(async () => {
  out?.stop();
  await Promise.all(clients.map((c) => c.flushall()));
});

const job = (className: string, i: number, queue = 'default') => sidekiqPayload({ className, queue, args: `[${i},"${ARG_MARKER}",{"n":1.0}]` });
const mapping = { 'Mapped::Worker': 'new_queue' };

/** The output must not contain a credential or any job's arguments. */
function expectNoSecretsOrArgs(text: string): void {
  expect(text).not.toContain(SOURCE_TOKEN);
  expect(text).not.toContain(TARGET_PASSWORD);
  expect(text).not.toContain(ARG_MARKER);
}

describe('a re-route through the handlers (AUTH token from Secrets Manager)', () => {
  it('plans, pages every item to the end and summarizes, with one log line and one EMF document per page invocation', async () => {
    for (let i = 0; i < 150; i++) await source.zadd(`${PREFIX}schedule`, String(1795459303 + i), job('Mapped::Worker', i));
    for (let i = 0; i < 5; i++) await source.zadd(`${PREFIX}schedule`, String(1795460303 + i), job('Unmapped::Worker', i));
    for (let i = 0; i < 40; i++) await source.lpush(`${PREFIX}queue:default`, job('Mapped::Worker', 1000 + i));
    for (let i = 0; i < 3; i++) await source.lpush(`${PREFIX}queue:default`, job('Unmapped::Worker', 2000 + i));
    await source.sadd(`${PREFIX}queues`, 'default');
    out = captureOutput();

    const run = await runWorkflow(h, { runId: 'reroute-1', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: ['schedule'], pageSize: 50, pagesPerInvocation: 2 });

    out.stop();
    expect(run.plan.work.batch.map((i) => `${i.kind}:${i.name}`)).toEqual(['set:schedule', 'queue:default']);
    expect(run.summary).toMatchObject({ runId: 'reroute-1', mode: 'reroute', complete: true, failures: [] });
    expect(run.summary.totals).toMatchObject({ moved: 190, unmapped: 8, unparsable: 0, quarantined: 0 });
    expect(run.summary.queues['default']).toMatchObject({ scanned: 43, moved: 40, unmapped: 3 });
    // Redis: every job still there, mapped ones on their new queue, the lock released.
    const scheduled = await source.zrange(`${PREFIX}schedule`, 0, '-1');
    expect(scheduled).toHaveLength(155);
    expect(scheduled.filter((p) => p.includes('"queue":"new_queue"'))).toHaveLength(150);
    expect(await source.llen(`${PREFIX}queue:new_queue`)).toBe(40);
    expect(await source.llen(`${PREFIX}queue:default`)).toBe(3);
    expect(await source.exists(`${PREFIX}sidekiq-migrate:lock`)).toBe(0);

    const records = out.records();
    const pageInvocations = run.invocations.reduce((a, b) => a + b, 0);
    expect(pageInvocations).toBeGreaterThan(2); // pagesPerInvocation 2: several invocations per item
    const emf = emfRecords(records);
    // Plan and summarize of a re-route record nothing; each page invocation one document.
    expect(emf).toHaveLength(pageInvocations);
    for (const doc of emf) {
      expect(doc.namespace).toBe('SidekiqMigrate');
      expect(doc.dimensions).toEqual({ service: 'sidekiq-migrate', mode: 'reroute' });
      expect(Object.keys(doc.values).sort()).toEqual(
        [MetricNames.JobsScanned, MetricNames.JobsMoved, MetricNames.JobsAlreadyRouted, MetricNames.JobsUnmapped, MetricNames.JobsUnparsable, MetricNames.JobsQuarantined, MetricNames.JobsVanished, MetricNames.PagesProcessed].sort(),
      );
    }
    const sums = sumMetrics(emf);
    expect(sums[MetricNames.JobsMoved]).toBe(190);
    expect(sums[MetricNames.JobsUnmapped]).toBe(8);
    expect(sums[MetricNames.JobsScanned]).toBe((run.summary.totals as { scanned: number }).scanned);
    // One info line per invocation: plan, each page invocation, adding up the one batch, summarize.
    const infos = logRecords(records).filter((r) => r['level'] === 'INFO');
    expect(infos).toHaveLength(pageInvocations + 3);
    expect(infos.every((r) => r['runId'] === 'reroute-1' && r['service'] === 'sidekiq-migrate' && r['function_request_id'])).toBe(true);
    expect(infos.filter((r) => r['itemKind'] === 'queue' && r['itemName'] === 'default').length).toBe(run.invocations[1]);
    expectNoSecretsOrArgs(out.text());
  });

  it('pages large jobs by bytes, not by the page size (a 1 GB Lambda would not hold 1,000 jobs of 1 MiB)', async () => {
    // 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES).
    const big = (i: number) => sidekiqPayload({ className: 'Mapped::Worker', queue: 'default', args: `[${i},"${'x'.repeat(MAX_PAGE_BYTES / 16)}"]` });
    const seeded: string[] = [];
    const expected: string[] = [];
    // ZSCAN goes on until it has COUNT entries, and returns the rest of the bucket it stopped in:
    // 24 entries, so that a COUNT of 15 cannot take them all, whatever the server's hash seed.
    for (let i = 0; i < 24; i++) {
      const scheduled = big(i);
      await source.zadd(`${PREFIX}schedule`, String(1795459303 + i), scheduled);
      seeded.push(jobDigestEntry(`${PREFIX}schedule`, scheduled, String(1795459303 + i)));
      expected.push(jobDigestEntry(`${PREFIX}schedule`, withQueue(scheduled, 'default', 'new_queue'), String(1795459303 + i)));
    }
    for (let i = 0; i < 16; i++) {
      const queued = big(100 + i);
      await source.lpush(`${PREFIX}queue:default`, queued);
      seeded.push(jobDigestEntry(`${PREFIX}queue:default`, queued));
      expected.push(jobDigestEntry(`${PREFIX}queue:new_queue`, withQueue(queued, 'default', 'new_queue')));
    }
    await source.sadd(`${PREFIX}queues`, 'default');
    expect(await jobDigestsIn(source, PREFIX)).toEqual(seeded.sort());

    const run = await runWorkflow(h, { runId: 'reroute-big', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: ['schedule'], pagesPerInvocation: 1 });

    expect(run.summary).toMatchObject({ complete: true, failures: [], totals: { moved: 40, vanished: 0 } });
    expect(await jobDigestsIn(source, PREFIX)).toEqual(expected.sort());
    // One page per invocation: 15 of these jobs fit in a page's bytes, so each item took
    // more than one page, where the page size (1,000) takes it in one.
    expect(run.invocations).toHaveLength(2);
    expect(run.invocations.every((n) => n >= 2)).toBe(true);
  });
});

describe('a transfer through the handlers (AUTH token to ACL user, both from Secrets Manager)', () => {
  it('moves every queue and set entry to the target, byte for byte, and counts each once', async () => {
    const queued = Array.from({ length: 120 }, (_, i) => job('A', i));
    const mailers = Array.from({ length: 30 }, (_, i) => job('Mailer', i, 'mailers'));
    for (const p of queued) await source.lpush(`${PREFIX}queue:default`, p);
    for (const p of mailers) await source.lpush(`${PREFIX}queue:mailers`, p);
    await source.sadd(`${PREFIX}queues`, 'default', 'mailers');
    const retries = Array.from({ length: 60 }, (_, i) => [String(1795459303 + i), job('A', 500 + i)] as const);
    for (const [score, p] of retries) await source.zadd(`${PREFIX}retry`, score, p);
    await source.zadd(`${PREFIX}schedule`, '1795469303', job('A', 900));
    out = captureOutput();

    const run = await runWorkflow(h, { runId: 'transfer-1', mode: 'transfer', target: 'target', pageSize: 25 });

    out.stop();
    expect(run.summary).toMatchObject({ mode: 'transfer', complete: true, failures: [] });
    expect(run.summary.totals).toMatchObject({ claimed: 211, written: 211, duplicates: 0, unparsable: 0 });
    expect((await target.lrange('queue:default', 0, -1)).sort()).toEqual([...queued].sort());
    expect((await target.lrange('queue:mailers', 0, -1)).sort()).toEqual([...mailers].sort());
    expect(await target.zrange('retry', 0, '-1', 'WITHSCORES')).toEqual(await sortedWithScores(retries));
    expect((await target.smembers('queues')).sort()).toEqual(['default', 'mailers']);
    expect((await allJobs(source, PREFIX)).filter((j) => !j.key.endsWith('queues'))).toEqual([]);
    expect(await source.exists(`${PREFIX}sidekiq-migrate:lock`)).toBe(0);
    expect(await target.exists('sidekiq-migrate:lock')).toBe(0);

    const emf = emfRecords(out.records());
    for (const doc of emf) expect(doc.dimensions).toEqual({ service: 'sidekiq-migrate', mode: 'transfer' });
    const sums = sumMetrics(emf);
    expect(sums).toMatchObject({ [MetricNames.JobsClaimed]: 211, [MetricNames.JobsWritten]: 211, [MetricNames.JobsDuplicate]: 0 });
    expect(sums[MetricNames.JobsMoved]).toBeUndefined();
    expectNoSecretsOrArgs(out.text());
  });

  it('invoked again with an input it already answered (Step Functions never got the answer: Lambda.ServiceException), answers the same, says so, and counts nothing twice', async () => {
    const queued = Array.from({ length: 40 }, (_, i) => job('A', i));
    await source.rpush(`${PREFIX}queue:default`, ...queued);
    await source.sadd(`${PREFIX}queues`, 'default');
    const plan = viaJson((await h.plan({ runId: 'lost-answer-1', mode: 'transfer', target: 'target', sets: [], pageSize: 10, pagesPerInvocation: 2 }, fakeContext())) as PlanOutput);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    const input = viaJson({ settings: plan.settings, item });
    out = captureOutput();

    const first = viaJson((await h.transferQueue(input, fakeContext())) as WorkItem);
    const retried = viaJson((await h.transferQueue(input, fakeContext())) as WorkItem);

    out.stop();
    expect(retried).toEqual(first);
    expect(first.counters).toMatchObject({ claimed: 20, written: 20, duplicates: 0, resumed: 0 });
    expect(await target.llen('queue:default')).toBe(20);
    expect(await source.llen(`${PREFIX}queue:default`)).toBe(20);
    const lines = logRecords(out.records()).filter((r) => r['task'] === 'transfer-queue');
    expect(lines.map((r) => r['message'])).toEqual([
      'queue default: 2 page(s), to be continued',
      'queue default: an earlier attempt of this task did these pages, its answer lost on the way back; answering with it again',
    ]);
    expect(sumMetrics(emfRecords(out.records()))).toMatchObject({ [MetricNames.JobsClaimed]: 20, [MetricNames.JobsWritten]: 20 });
    await h.releaseLock({ settings: plan.settings }, fakeContext());
  });

  it('with a low rate limit, returns before the Lambda deadline with what it moved, the rest left on the source', async () => {
    const queued = Array.from({ length: 100 }, (_, i) => job('A', i));
    await source.rpush(`${PREFIX}queue:default`, ...queued);
    await source.sadd(`${PREFIX}queues`, 'default');
    const plan = viaJson((await h.plan({ runId: 'rate-1', mode: 'transfer', target: 'target', sets: [], pageSize: 25, rateLimit: 2 }, fakeContext())) as PlanOutput);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;

    // Time is the clock's (commandClock): 10 ms a Redis command, and the rate limiter's waits
    // taken at once, by their length. 60 s left: the page deadline is in 30 s (pageDeadline). At 2
    // jobs/s, slices of 25 end at 12.5 s and 25 s; a third would be followed by a wait to 37.5 s,
    // past the deadline: none is started.
    const clients = await Promise.all(['source', 'target'].map(async (name) => (await h.connections.get(name)).redis));
    const clock = commandClock(clients, 10, { sleepsIn: 'rate-limiter.ts' });
    let first: WorkItem;
    let started: number;
    let returned: number;
    let remaining: number;
    try {
      started = Date.now();
      const context = fakeContext(60_000);
      first = viaJson((await h.transferQueue(viaJson({ settings: plan.settings, item }), context)) as WorkItem);
      returned = Date.now();
      remaining = context.getRemainingTimeInMillis();
    } finally {
      clock.stop();
    }
    const deadline = pageDeadline({ getRemainingTimeInMillis: () => 60_000 }, started);

    expect(first.done).toBe(false);
    // Never a wait past the deadline, the invocation's end far after it.
    expect(returned, `waited ${clock.sleeps().join(', ')} ms`).toBeLessThanOrEqual(deadline);
    expect(remaining).toBeGreaterThan(0);
    expect(clock.sleeps().length).toBeGreaterThan(0);
    const written = (first.counters as { written: number }).written;
    // What the rate allows before the deadline (2 jobs/s × 30 s: 60), in whole slices of 25.
    expect(written).toBe(50);
    const onTarget = await target.lrange('queue:default', 0, -1);
    const onSource = await source.lrange(`${PREFIX}queue:default`, 0, -1);
    expect(onTarget).toHaveLength(written);
    expect([...onTarget, ...onSource].sort()).toEqual([...queued].sort());
    await h.releaseLock({ settings: plan.settings }, fakeContext());
  });
});

describe('invalid input', () => {
  it('fails as InvalidInputError, listing every problem, and touches nothing', async () => {
    for (let i = 0; i < 10; i++) await source.lpush(`${PREFIX}queue:default`, job('Mapped::Worker', i));
    const before = [await dumpAll(source), await dumpAll(target)];
    out = captureOutput();

    const plan = h.plan({ runId: 'no spaces please', mode: 'teleport', pageSize: 0, sets: ['schedule'] }, fakeContext());

    await expect(plan).rejects.toMatchObject({ name: 'InvalidInputError', retryable: false, cause: { name: 'ConfigError' } });
    const message = ((await plan.catch((e: unknown) => e)) as Error).message;
    expect(message).toMatch(/input\.runId: /);
    expect(message).toMatch(/input\.mode: /);
    expect(message).toMatch(/input\.pageSize: /);
    expect([await dumpAll(source), await dumpAll(target)]).toEqual(before);
    out.stop();
    expect(emfRecords(out.records())).toEqual([]);
    const errors = logRecords(out.records()).filter((r) => r['level'] === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ task: 'plan', runId: 'no spaces please', error: { name: 'InvalidInputError', causes: [{ name: 'ConfigError' }] } });
  });

  it('refuses a transfer of selected classes that would copy every cron definition (started other than by the CLI), touching nothing', async () => {
    for (let i = 0; i < 3; i++) await source.lpush(`${PREFIX}queue:default`, job('Mapped::Worker', i));
    await source.hset(`${PREFIX}cron_job:nightly`, 'name', 'nightly', 'cron', '0 3 * * *', 'klass', 'Mapped::Worker', 'queue', 'default');
    const before = [await dumpAll(source), await dumpAll(target)];

    const plan = h.plan({ runId: 'cron-and-classes', mode: 'transfer', target: 'target', classes: ['Mapped::Worker'], cron: 'carry' }, fakeContext());

    await expect(plan).rejects.toMatchObject({
      name: 'InvalidInputError',
      retryable: false,
      message: expect.stringContaining('input.cron: carry copies every sidekiq-cron definition of the source, not only the selected classes: with classes, each schedule would push from both Redis servers'),
    });
    expect([await dumpAll(source), await dumpAll(target)]).toEqual(before);
  });

  it('refuses a page of the wrong task (mode, kind) or with a malformed cursor, before connecting', async () => {
    await source.lpush(`${PREFIX}queue:default`, job('Mapped::Worker', 1));
    const plan = viaJson((await h.plan({ runId: 'reroute-2', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: [] }, fakeContext())) as PlanOutput);
    const queueItem = plan.work.batch[0]!;
    const before = [await dumpAll(source), await dumpAll(target)];
    const page = (handler: LoadedHandlers['plan'], input: unknown) => handler(input, fakeContext());

    await expect(page(h.rerouteSetPage, { settings: plan.settings, item: queueItem })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/input\.item\.kind: is "queue", but this function re-routes sorted sets/),
    });
    await expect(page(h.transferQueue, { settings: plan.settings, item: queueItem })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/input\.settings\.mode: is "reroute", but this function transfers queues/),
    });
    await expect(page(h.rerouteQueueSlice, { settings: plan.settings, item: { ...queueItem, cursor: { limit: 'lots' } } })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.item.cursor') });
    await expect(page(h.rerouteQueueSlice, { item: queueItem })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.settings') });
    await expect(page(h.summarize, { settings: plan.settings })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.tally') });
    await expect(page(h.summarize, { step: 'add-up', settings: plan.settings, work: plan.work })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.results') });
    expect([await dumpAll(source), await dumpAll(target)]).toEqual(before);
    await h.releaseLock({ settings: plan.settings }, fakeContext());
  });
});

// 40,000 jobs pushed, then moved a page of 200 at a time: 3.5 s on a 2-core machine at load 3,
// 25 s of the default 30 s at load 20.
describe('the time budget', { timeout: 120_000 }, () => {
  it('returns before a large item is finished, with a cursor that the next invocation continues from to the end', async () => {
    const total = 40_000;
    const pipeline = source.pipeline();
    for (let i = 0; i < total; i++) pipeline.lpush(`${PREFIX}queue:default`, job('Mapped::Worker', i));
    await pipeline.exec();
    const plan = viaJson((await h.plan({ runId: 'budget-1', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: [], pageSize: 200, pagesPerInvocation: 10_000 }, fakeContext())) as PlanOutput);
    const input = { settings: plan.settings, item: plan.work.batch[0]! };
    out = captureOutput();

    // 400 ms left: the deadline is in 200 ms (half the remaining time, less than the 45 s margin),
    // middy's early timeout in 395 ms. Pages of 200 jobs take a few ms; the item takes seconds.
    const first = viaJson((await h.rerouteQueueSlice(viaJson(input), fakeContext(400))) as WorkItem);
    const afterFirst = { queued: await source.llen(`${PREFIX}queue:default`), moved: await source.llen(`${PREFIX}queue:new_queue`) };
    const second = viaJson((await h.rerouteQueueSlice(viaJson({ settings: plan.settings, item: first }), fakeContext())) as WorkItem);

    out.stop();
    const firstCursor = first.cursor as { limit: number; examined: number; kept: number };
    expect(first.done).toBe(false);
    expect(firstCursor.limit).toBe(total);
    expect(firstCursor.examined).toBeGreaterThan(0);
    expect(firstCursor.examined).toBeLessThan(total);
    expect(first.counters).toMatchObject({ scanned: firstCursor.examined, moved: firstCursor.examined });
    expect(afterFirst).toEqual({ queued: total - firstCursor.examined, moved: firstCursor.examined });

    expect(second.done).toBe(true);
    expect(second.cursor).toEqual({ limit: total, examined: total, kept: 0, bytesPerJob: expect.any(Number) });
    expect(second.counters).toMatchObject({ scanned: total, moved: total, unmapped: 0, vanished: 0 });
    expect(await source.llen(`${PREFIX}queue:default`)).toBe(0);
    expect(await source.llen(`${PREFIX}queue:new_queue`)).toBe(total);

    const [emf1, emf2] = emfRecords(out.records());
    expect(emf1!.values[MetricNames.JobsMoved]).toBe(firstCursor.examined);
    expect(emf1!.values[MetricNames.PagesProcessed]).toBe(firstCursor.examined / 200);
    expect(emf2!.values[MetricNames.JobsMoved]).toBe(total - firstCursor.examined);
    expect(emf2!.values[MetricNames.PagesProcessed]).toBe((total - firstCursor.examined) / 200);
    await h.releaseLock({ settings: plan.settings }, fakeContext());
  });
});

describe('the container', () => {
  it('reuses its connections across invocations, and replaces one that ended', async () => {
    const first = await h.connections.get('source');
    await h.drainCheck({}, fakeContext());
    await h.drainCheck({ connection: 'source' }, fakeContext());
    const again = await h.connections.get('source');
    expect(again.redis).toBe(first.redis);
    expect(again.name).toBe(sourceUrl); // redacted URL: there was no password in it to begin with

    const ended = new Promise((resolve) => first.redis.once('end', resolve));
    first.redis.disconnect(); // as when ioredis gives up reconnecting: status "end"
    await ended;
    await expect(h.drainCheck({}, fakeContext())).resolves.toMatchObject({ verdict: { state: 'drained' } });
    const replaced = await h.connections.get('source');
    expect(replaced.redis).not.toBe(first.redis);
    expect(replaced.redis.status).toBe('ready');
  });
});

async function sortedWithScores(entries: readonly (readonly [string, string])[]): Promise<string[]> {
  return [...entries].sort((a, b) => Number(a[0]) - Number(b[0])).flatMap(([score, member]) => [member, score]);
}
