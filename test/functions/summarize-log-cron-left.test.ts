import { describe, expect, it, vi } from 'vitest';
import { MAX_CRON_DEFINITIONS } from '../../core/cron/cron-definitions.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, type RunBeforeSummary } from './support/run-workflow.js';

// The deployed summarize function's log line said "run complete" over a run asked to rewrite (or
// carry) every sidekiq-cron definition that left some unjudged or unread, where `watch`/`status`
// (and a local run) say "Done, but N sidekiq-cron definition(s) …" and exit 1. The line says what
// they say (the same words, cron-left.ts), as counts, without definition names.
const lambda = lambdaOnOwnServers();
const message = '{"queue":"default","class":"W","args":[]}';

/** The summary task's log line about the run ("run …") of a run brought to its summary. */
async function runLine(run: RunBeforeSummary): Promise<{ line: Record<string, unknown> | undefined; text: string }> {
  const out = captureOutput();
  try {
    await lambda.h.summarize(summarizeInput(run), fakeContext());
  } finally {
    out.stop();
  }
  return { line: logRecords(out.records()).find((r) => /^run /.test(String(r['message']))), text: out.text() };
}

describe('the summarize handler, sidekiq-cron definitions left', { timeout: 240_000 }, () => {
  it("a re-route with rewrite that could not judge two enabled definitions: never 'run complete'", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    await redis.sadd('cron_jobs', 'cron_job:broken_worker', 'cron_job:no_class_worker');
    await redis.hset('cron_job:broken_worker', { name: 'broken_worker', message: '{"queue":"old","class":', status: 'enabled' });
    await redis.hset('cron_job:no_class_worker', { name: 'no_class_worker', queue: 'old', status: 'enabled' });

    const run = await runToSummary(h, { runId: 'cron-left-1', mode: 'reroute', sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { old: 'new' } } });
    const { line, text } = await runLine(run);

    expect(run.plan.cron).toMatchObject({ unjudged: 2 });
    expect(line, text).toMatchObject({ message: 'run done, but 2 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten', complete: true, cronLeft: { unjudged: 2 } });
    expect(JSON.stringify(line)).not.toContain('broken_worker');
    expect(await redis.lrange('queue:new', 0, -1)).toHaveLength(1);
  });

  it("a re-route with rewrite that judged every definition: 'run complete'", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    await redis.sadd('cron_jobs', 'cron_job:w');
    await redis.hset('cron_job:w', { name: 'w', message: '{"queue":"old","class":"W","args":[]}', status: 'enabled' });

    const run = await runToSummary(h, { runId: 'cron-left-2', mode: 'reroute', sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { old: 'new' } } });
    const { line, text } = await runLine(run);

    expect(line, text).toMatchObject({ message: 'run complete', complete: true });
    expect(line).not.toHaveProperty('cronLeft');
    expect(JSON.parse((await redis.hget('cron_job:w', 'message'))!)).toMatchObject({ queue: 'new' });
  });

  it("a re-route with rewrite whose definition was saved between the plan's read and its write: never 'run complete'", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    await redis.sadd('cron_jobs', 'cron_job:w');
    await redis.hset('cron_job:w', { name: 'w', message: '{"queue":"old","class":"W","args":[]}', status: 'enabled' });
    // The handlers' own LuaScript (load-handlers.ts imports them after resetting the modules).
    const { LuaScript } = await import('../../core/redis/lua-script.js');
    const runAll = LuaScript.prototype.runAll;
    const spy = vi.spyOn(LuaScript.prototype, 'runAll').mockImplementation(async function (this: InstanceType<typeof LuaScript>, client, calls, before, onSent) {
      if (this.name.startsWith('rewriteCronMessage-')) await redis.hset('cron_job:w', { message: '{"queue":"elsewhere","class":"W","args":[]}' });
      return runAll.call(this, client, calls, before, onSent);
    });

    const run = await runToSummary(h, { runId: 'cron-left-raced', mode: 'reroute', sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { old: 'new' } } });
    spy.mockRestore();
    const { line, text } = await runLine(run);

    expect(run.plan.cron).toMatchObject({ rewritten: 0, changedMeanwhile: 1, changedMeanwhileExamples: ['w'] });
    expect(line, text).toMatchObject({
      message: 'run done, but 1 sidekiq-cron definition(s) changed while this run was rewriting them, so not rewritten: re-run with --rewrite-cron to judge them again',
      complete: true,
      cronLeft: { changedMeanwhile: 1 },
    });
    expect(JSON.stringify(line)).not.toContain('"w"');
    expect(await redis.hget('cron_job:w', 'message')).toBe('{"queue":"elsewhere","class":"W","args":[]}');
  });

  it("a re-route with rewrite that also left a rename unmatched: both said, never 'run complete'", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    await redis.sadd('cron_jobs', 'cron_job:broken_worker');
    await redis.hset('cron_job:broken_worker', { name: 'broken_worker', message: '{"queue":"old","class":', status: 'enabled' });

    const run = await runToSummary(h, { runId: 'cron-left-3', mode: 'reroute', sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { olld: 'new' } } });
    const { line, text } = await runLine(run);

    expect(line, text).toMatchObject({
      message: 'run done, but a rename moved nothing; also 1 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten',
      complete: true,
      cronLeft: { unjudged: 1 },
    });
  });

  it("a re-route with rewrite whose jobs also went where nobody fetches: both said, the other reason first (it was dropped)", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    // A live process that listens to `old` only: the rename sends the job to `new`, which nobody fetches.
    await heartbeat(redis, new SidekiqKeys(''), 'web-1:4242:0a1b2c3d4e5f', ['old'], { beatAt: Date.now() / 1000, beating: false });
    await redis.sadd('cron_jobs', 'cron_job:broken_worker');
    await redis.hset('cron_job:broken_worker', { name: 'broken_worker', message: '{"queue":"old","class":', status: 'enabled' });

    const run = await runToSummary(h, { runId: 'cron-left-6', mode: 'reroute', sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { old: 'new' } } });
    const { line, text } = await runLine(run);

    expect(line, text).toMatchObject({
      message: 'run done, but some went to queues nobody fetches from; also 1 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten',
      complete: true,
      cronLeft: { unjudged: 1 },
      unheardQueues: { queues: 1, jobs: 1 },
    });
  });

  it("a move carrying definitions beyond the bound: never 'run complete' over those not read", async () => {
    const { h, source, target } = lambda;
    await source.flushall();
    await target.flushall();
    const n = MAX_CRON_DEFINITIONS + 1;
    const p = source.pipeline();
    for (let i = 0; i < n; i++) {
      const name = `job_${String(i).padStart(5, '0')}`;
      p.sadd('cron_jobs:default', `cron_job:default:${name}`);
      p.hset(`cron_job:default:${name}`, { name, namespace: 'default', message, status: 'enabled' });
    }
    await p.exec();

    const run = await runToSummary(h, { runId: 'cron-left-4', mode: 'transfer', target: 'target', sets: ['schedule'], queues: false, cron: 'carry' });
    const { line, text } = await runLine(run);

    expect(run.plan.cron).toMatchObject({ carried: MAX_CRON_DEFINITIONS, unread: 1 });
    expect(await target.scard('cron_jobs:default')).toBe(MAX_CRON_DEFINITIONS);
    expect(line, text).toMatchObject({ message: 'run done, but 1 sidekiq-cron definition(s) were not read, so not copied to the target', complete: true, cronLeft: { unread: 1 } });
  });

  it('a dry run of the same: the line says nothing of it (a dry run writes no definition)', async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.sadd('cron_jobs', 'cron_job:broken_worker');
    await redis.hset('cron_job:broken_worker', { name: 'broken_worker', message: '{"queue":"old","class":', status: 'enabled' });

    const run = await runToSummary(h, { runId: 'cron-left-5', mode: 'reroute', dryRun: true, sets: ['schedule'], cron: 'rewrite', routing: { kind: 'renames', renames: { olld: 'new' } } });
    const { line, text } = await runLine(run);

    expect(line, text).toMatchObject({ message: 'run dry run done' });
    expect(line).not.toHaveProperty('cronLeft');
  });
});
